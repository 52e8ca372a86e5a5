"""The analyzer's anti-pattern rules."""
