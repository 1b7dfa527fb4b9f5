"""Class mode: a teacher opens a class, students join with a short code, answers are tallied live.

UI-free (no Streamlit here): `store` keeps classes, students, answers and challenge results in any
SQLAlchemy database (SQLite by default); `challenge` reruns a student's training settings with `core`
so that the leaderboard never trusts a number sent by a browser. `ui.classmode` draws it all.
"""
