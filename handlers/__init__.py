"""Telegram update handlers, one module per audience."""
