"""Typed errors. Only delivery failures propagate out of the handler."""


class KeyguardError(Exception):
    """Base class for errors raised by kms-keyguard."""


class ConfigurationError(KeyguardError):
    """The function's environment is invalid; raised at first use, never silently defaulted."""


class AlertDeliveryError(KeyguardError):
    """The alert could not be published. Raised so that Lambda retries and the failure queue keeps it."""
