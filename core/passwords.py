"""What a new password must be (NIST SP 800-63B): long enough, not common, not about its owner.

No composition rules (800-63B §5.1.1.2 forbids them): instead zxcvbn estimates how many guesses
the password takes against its lists of common passwords, words, names, keyboard patterns,
dates and repeats, and the owner's own username, name and e-mail.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_LENGTH = 8
MAX_BYTES = 72      # bcrypt reads no further
MIN_SCORE = 2       # zxcvbn: at least 10^6 guesses; sign-in is throttled and hashed with bcrypt
_ADVICE = ("Use a longer one that is not a common password: three or four unrelated words "
           "of your own choosing are easy to remember and hard to guess.")


def problem(password: str, *, username: str = "", name: str = "", email: str = "") -> str | None:
    """Why a new password is not acceptable, in a sentence that says what to do; or None."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters. " + _ADVICE.split(": ", 1)[1].capitalize()
    if len(password.encode()) > MAX_BYTES:
        return f"Use at most {MAX_BYTES} bytes (bcrypt ignores the rest)."
    if username and len(username) >= 3 and username.lower() in password.lower():
        return "Do not include your username. " + _ADVICE
    context = [part for part in (username, email, email.split("@")[0], *name.split(), "quorum")
               if part]
    result = zxcvbn(password, user_inputs=context)
    if result["score"] >= MIN_SCORE:
        return None
    warning = result["feedback"]["warning"] or "This password is easy to guess."
    return f"{warning.rstrip('.')}. {_ADVICE}"
