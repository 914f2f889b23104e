"""The blueprint editor's core: a plain-Python model, undoable commands and the document.

``model`` holds one blueprint being edited and knows no Qt; ``commands`` are the only
writers of the model; ``document`` owns both plus the undo stack and re-emits the
model's facts as Qt signals for the canvas and the inspector.
"""
