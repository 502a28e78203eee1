"""The Heroes reference service: the SQLModel tutorial's API on sqlmodel-async."""
