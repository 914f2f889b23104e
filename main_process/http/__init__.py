"""``conductor serve``: the engine behind a JSON API."""
