"""Secrets: stored per data dir (OS keyring or an encrypted file), read by templates
as ``{{ secrets.NAME }}``, and masked by value wherever they would be recorded."""

from app.redaction import REDACTOR, Redactor
from main_process.secrets.template_view import SecretsView
from main_process.secrets.vault import BACKEND_ENV, Vault

__all__ = ["BACKEND_ENV", "REDACTOR", "Redactor", "SecretsView", "Vault"]
