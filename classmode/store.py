"""Classes, students, answers and challenge results in one SQL database (plain functions over an Engine).

    engine = sqlalchemy.create_engine("sqlite:///data/class.sqlite"); configure(engine)
    code, token = open_class(engine)                 # the teacher keeps the token (only its hash is stored)
    join(engine, code, student_id, "Ada")            # a student is in
    answer(engine, code, student_id, "ch03", "Which ...?", ["a", "b"], 1, choice=0)
    tally(engine, code)                              # per question: counts per option, who answered
    reveal(engine, code, token, "ch03")              # only with the teacher's token

Every write is one transaction. On SQLite it starts with BEGIN IMMEDIATE (one writer at a time, the others
wait up to BUSY_TIMEOUT_MS: nothing is lost), the journal is WAL (readers never wait for a writer), and an
answer is an upsert on UNIQUE(class, student, question): a later answer replaces the earlier one, two
answers of one student never count twice. Any other SQLAlchemy database (PostgreSQL for several app
replicas) works too: the upsert uses its ON CONFLICT, the limits lock the class row (SELECT ... FOR UPDATE).
"""
import hashlib
import hmac
import json
import secrets
import time
import unicodedata

import sqlalchemy as sa
from sqlalchemy import event

CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY"   # 21 capitals; no B/8, I/1, O/0, S/5, Z/2 to misread
CODE_LENGTH = 6                            # 21**6 = 85,766,121 codes
LIFETIME_S = 24 * 3600                     # a class and everything in it is deleted 24 h after it opened
MAX_OPEN_CLASSES = 30                      # per server (per database)
MAX_STUDENTS = 200                         # joined students in all open classes together
MAX_NICKNAME = 20
ANSWER_GAP_S = 1.0                         # at most one answer per student per question per second
FAILS_PER_SESSION = 5                      # wrong codes one session may type ...
FAILS_SESSION_WINDOW_S = 600               # ... in 10 minutes
FAILS_GLOBAL = 30                          # wrong codes the whole server accepts ...
FAILS_GLOBAL_WINDOW_S = 60                 # ... per minute (a guesser then waits like everyone)
BUSY_TIMEOUT_MS = 10_000


class ClassError(Exception):
    """Something a person did that cannot be done; the message is meant for the screen."""


class NotTeacher(ClassError):
    """A teacher's action (reveal, follow me, close) without the class's token."""


class Revealed(ClassError):
    """An answer to a question whose answer the teacher has revealed: the tally no longer changes."""


meta = sa.MetaData()
classes = sa.Table(
    "cm_classes", meta,
    sa.Column("code", sa.String(8), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
    sa.Column("closed", sa.Boolean, nullable=False, default=False),
    sa.Column("follow_path", sa.String(200)),
    sa.Column("follow_query", sa.Text),
    sa.Column("follow_title", sa.String(200)),
    sa.Column("follow_at", sa.Float),
    sa.Column("version", sa.Integer, nullable=False, default=0),  # bumps on reveal / follow / close
)
students = sa.Table(
    "cm_students", meta,
    sa.Column("code", sa.String(8), primary_key=True),
    sa.Column("student", sa.String(64), primary_key=True),
    sa.Column("nickname", sa.String(MAX_NICKNAME * 4), nullable=False, default=""),
    sa.Column("joined_at", sa.Float, nullable=False),
)
questions = sa.Table(
    "cm_questions", meta,
    sa.Column("code", sa.String(8), primary_key=True),
    sa.Column("qid", sa.String(100), primary_key=True),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("options", sa.Text, nullable=False),  # JSON list of the option texts
    sa.Column("answer", sa.Integer, nullable=False),
    sa.Column("revealed", sa.Boolean, nullable=False, default=False),
    sa.Column("first_at", sa.Float, nullable=False),
)
answers = sa.Table(
    "cm_answers", meta,
    sa.Column("code", sa.String(8), nullable=False),
    sa.Column("student", sa.String(64), nullable=False),
    sa.Column("qid", sa.String(100), nullable=False),
    sa.Column("choice", sa.Integer, nullable=False),
    sa.Column("answered_at", sa.Float, nullable=False),
    sa.UniqueConstraint("code", "student", "qid", name="cm_one_answer_per_student"),
)
results = sa.Table(
    "cm_results", meta,
    sa.Column("code", sa.String(8), primary_key=True),
    sa.Column("student", sa.String(64), primary_key=True),
    sa.Column("test_loss", sa.Float, nullable=False),
    sa.Column("test_acc", sa.Float, nullable=False),
    sa.Column("weights", sa.Integer, nullable=False),
    sa.Column("steps", sa.Integer, nullable=False),
    sa.Column("settings", sa.Text, nullable=False),  # JSON of the validated settings the server trained
    sa.Column("submitted_at", sa.Float, nullable=False),
)
join_failures = sa.Table(
    "cm_join_failures", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("who", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False, index=True),
)
CHILD_TABLES = (students, questions, answers, results)


# ------------------------------------------------------------------------------------------- engine
def configure(engine):
    """Create the tables; on SQLite also WAL, a busy timeout and BEGIN IMMEDIATE for writes.

    Call once per Engine, before its first connection (the SQLite settings apply to new connections).
    """
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None   # SQLAlchemy, not the driver, says BEGIN
            cur = dbapi_connection.cursor()
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            write = conn.get_execution_options().get("cm_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
    meta.create_all(engine)
    return engine


def _write(engine):
    """A write transaction (BEGIN IMMEDIATE on SQLite): commits on success, rolls back on any error."""
    return engine.execution_options(cm_write=True).begin()


def _now(now):
    return time.time() if now is None else float(now)


def _hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _upsert(conn, table, keys, values, update=(), where=None):
    """INSERT, or on a clash of `keys` UPDATE the columns `update` (only where `where(new)` holds).

    Returns the number of rows written (0: the clash was left alone). One statement on SQLite and
    PostgreSQL (ON CONFLICT); elsewhere a locked read, then an insert or an update.
    """
    name = conn.dialect.name
    if name in ("sqlite", "postgresql"):
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = insert(table).values(**values)
        if update:
            stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                              set_={c: stmt.excluded[c] for c in update},
                                              where=where(stmt.excluded) if where is not None else None)
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        return conn.execute(stmt).rowcount
    match = sa.and_(*[table.c[k] == values[k] for k in keys])
    old = conn.execute(sa.select(table).where(match).with_for_update()).first()
    if old is None:
        conn.execute(table.insert().values(**values))
        return 1
    if not update:
        return 0
    new = sa.select(*[sa.literal(v).label(k) for k, v in values.items()]).subquery()
    cond = match if where is None else sa.and_(match, where(new.c))
    return conn.execute(table.update().where(cond).values({c: values[c] for c in update})).rowcount


# ------------------------------------------------------------------------------------------- checks
def valid_code(text):
    """The class code in `text` (spaces and case forgiven), or None when it cannot be one."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    code = "".join(text.split()).upper()
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


def clean_nickname(text):
    """At most MAX_NICKNAME characters of plain text: control, format (bidi, zero-width) and unassigned
    characters removed, runs of white space made one space. Shown with st.text, never as markdown."""
    if not isinstance(text, str):
        return ""
    text = text[:MAX_NICKNAME * 50]
    kept = []
    for ch in text:
        kind = unicodedata.category(ch)
        if kind.startswith("Z") or ch in "\t\n\r":
            kept.append(" ")
        elif not kind.startswith("C"):
            kept.append(ch)
    kept = "".join(kept)
    return " ".join(kept.split())[:MAX_NICKNAME].strip()


def _open_row(conn, code, now, lock=False):
    query = sa.select(classes).where(classes.c.code == code)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None or row.expires_at <= now:
        raise ClassError(f"There is no open class {code}: it may have expired (classes last 24 hours).")
    if row.closed:
        raise ClassError(f"Class {code} has been closed by its teacher.")
    return row


def _check_teacher(conn, code, token):
    row = conn.execute(sa.select(classes.c.token_hash).where(classes.c.code == code)).first()
    if row is None or not isinstance(token, str) or not token or \
            not hmac.compare_digest(row.token_hash, _hash(token)):
        raise NotTeacher("Only the teacher who started this class can do that.")


# ------------------------------------------------------------------------------------------- teacher
def purge_expired(engine, now=None):
    """Delete every class older than LIFETIME_S with its students, answers and results; old join failures."""
    now = _now(now)
    with _write(engine) as conn:
        old = sa.select(classes.c.code).where(classes.c.expires_at <= now)
        for table in CHILD_TABLES:
            conn.execute(table.delete().where(table.c.code.in_(old)))
        conn.execute(classes.delete().where(classes.c.expires_at <= now))
        conn.execute(join_failures.delete().where(join_failures.c.at <= now - 3600))


def open_class(engine, now=None, rng=None):
    """Start a class: returns (code, token). The token is the teacher's secret; only its hash is stored."""
    now = _now(now)
    purge_expired(engine, now)
    rng = rng or secrets.SystemRandom()
    token = secrets.token_urlsafe(24)
    with _write(engine) as conn:
        n_open = conn.execute(sa.select(sa.func.count()).select_from(classes).where(
            classes.c.expires_at > now, classes.c.closed.is_(False))).scalar_one()
        if n_open >= MAX_OPEN_CLASSES:
            raise ClassError(f"This server already has {MAX_OPEN_CLASSES} open classes, its limit. Close a "
                             "class you no longer need, or try again when one expires (after 24 hours).")
        for _ in range(20):
            code = "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if conn.execute(sa.select(classes.c.code).where(classes.c.code == code)).first() is None:
                break
        else:  # pragma: no cover - 20 clashes in 85 million codes
            raise ClassError("Could not find a free class code; try again.")
        conn.execute(classes.insert().values(code=code, token_hash=_hash(token), created_at=now,
                                             expires_at=now + LIFETIME_S, closed=False, version=0))
    return code, token


def is_teacher(engine, code, token):
    with engine.connect() as conn:
        try:
            _check_teacher(conn, code, token)
            return True
        except NotTeacher:
            return False


def reveal(engine, code, token, qid):
    """Show the correct answer of question `qid` to every student of the class (teacher only)."""
    with _write(engine) as conn:
        _check_teacher(conn, code, token)
        conn.execute(questions.update().where(questions.c.code == code, questions.c.qid == qid)
                     .values(revealed=True))
        conn.execute(classes.update().where(classes.c.code == code).values(version=classes.c.version + 1))


def follow(engine, code, token, path, query, title):
    """Send the class to page `path` (a registry url) with `query` (its settings, url-encoded); teacher only."""
    with _write(engine) as conn:
        _check_teacher(conn, code, token)
        conn.execute(classes.update().where(classes.c.code == code).values(
            follow_path=str(path)[:200], follow_query=str(query)[:4000], follow_title=str(title)[:200],
            follow_at=time.time(), version=classes.c.version + 1))


def close_class(engine, code, token):
    """Close the class (teacher only): students see it has ended; its data goes at expiry."""
    with _write(engine) as conn:
        _check_teacher(conn, code, token)
        conn.execute(classes.update().where(classes.c.code == code).values(
            closed=True, version=classes.c.version + 1))


# ------------------------------------------------------------------------------------------- students
def join(engine, code_text, student, nickname="", now=None):
    """Put `student` (a random per-tab id) into the class; returns (code, nickname).

    Wrong codes are counted: a session that typed FAILS_PER_SESSION wrong codes in 10 minutes, or a
    server that saw FAILS_GLOBAL of them in the last minute, refuses further attempts for a while, so
    guessing one of 85 million codes is out of reach.
    """
    now = _now(now)
    student = str(student)[:64]
    nickname = clean_nickname(nickname)
    with _write(engine) as conn:
        mine = conn.execute(sa.select(sa.func.count()).select_from(join_failures).where(
            join_failures.c.who == student, join_failures.c.at > now - FAILS_SESSION_WINDOW_S)).scalar_one()
        everyone = conn.execute(sa.select(sa.func.count()).select_from(join_failures).where(
            join_failures.c.at > now - FAILS_GLOBAL_WINDOW_S)).scalar_one()
        if mine >= FAILS_PER_SESSION:
            raise ClassError("Too many wrong class codes from this tab: wait 10 minutes, or ask your "
                             "teacher for the join link.")
        if everyone >= FAILS_GLOBAL:
            raise ClassError("Too many wrong class codes on this server in the last minute: try again in "
                             "a minute, or ask your teacher for the join link.")
        code = valid_code(code_text)
        row = None
        if code is not None:
            row = conn.execute(sa.select(classes).where(classes.c.code == code)).first()
        wrong = row is None or row.expires_at <= now
        if wrong:  # recorded and committed before the refusal (an exception here would roll it back)
            conn.execute(join_failures.insert().values(who=student, at=now))
    if wrong:
        raise ClassError(f"No open class has that code. A code is {CODE_LENGTH} capital letters, "
                         "as your teacher's screen shows it.")
    with _write(engine) as conn:
        _open_row(conn, code, now, lock=True)
        there = conn.execute(sa.select(students.c.nickname).where(
            students.c.code == code, students.c.student == student)).first()
        if there is None:
            open_codes = sa.select(classes.c.code).where(classes.c.expires_at > now, classes.c.closed.is_(False))
            n = conn.execute(sa.select(sa.func.count()).select_from(students).where(
                students.c.code.in_(open_codes))).scalar_one()
            if n >= MAX_STUDENTS:
                raise ClassError(f"This server already has {MAX_STUDENTS} students in its open classes, its "
                                 "limit: nobody else can join until a class closes.")
            conn.execute(students.insert().values(code=code, student=student, nickname=nickname, joined_at=now))
        elif nickname:
            conn.execute(students.update().where(students.c.code == code, students.c.student == student)
                         .values(nickname=nickname))
        else:
            nickname = there.nickname
    return code, nickname


def set_nickname(engine, code, student, nickname):
    nickname = clean_nickname(nickname)
    with _write(engine) as conn:
        conn.execute(students.update().where(students.c.code == code, students.c.student == str(student))
                     .values(nickname=nickname))
    return nickname


def leave(engine, code, student):
    with _write(engine) as conn:
        for table in (students, answers, results):
            conn.execute(table.delete().where(table.c.code == code, table.c.student == str(student)))


def answer(engine, code, student, qid, question, options, correct, choice, now=None):
    """Record `student`'s answer `choice` (an option index) to question `qid`; returns True, or False when
    the same student answered that question less than ANSWER_GAP_S ago (the earlier answer stands).
    Raises Revealed once the teacher has revealed the question's answer.

    One transaction: the class must be open and the student in it; the question is registered on its
    first answer; the answer is an upsert on UNIQUE(class, student, question).
    """
    now = _now(now)
    options = [str(o) for o in options]
    if isinstance(choice, bool) or not isinstance(choice, int) or not 0 <= choice < len(options):
        raise ClassError(f"An answer must be one of the {len(options)} options.")
    with _write(engine) as conn:
        _open_row(conn, code, now)
        if conn.execute(sa.select(students.c.student).where(
                students.c.code == code, students.c.student == str(student))).first() is None:
            raise ClassError(f"You are not in class {code} (any more): join it again.")
        _upsert(conn, questions, ("code", "qid"),
                dict(code=code, qid=str(qid)[:100], question=str(question)[:2000],
                     options=json.dumps(options), answer=int(correct), revealed=False, first_at=now))
        if conn.execute(sa.select(questions.c.revealed).where(
                questions.c.code == code, questions.c.qid == str(qid)[:100])).scalar_one():
            raise Revealed("Your teacher has revealed this answer, so the class's tally no longer changes.")
        written = _upsert(conn, answers, ("code", "student", "qid"),
                          dict(code=code, student=str(student), qid=str(qid)[:100], choice=choice, answered_at=now),
                          update=("choice", "answered_at"),
                          where=lambda new: answers.c.answered_at <= new.answered_at - ANSWER_GAP_S)
    return written > 0


# ------------------------------------------------------------------------------------------- reading
def class_state(engine, code, now=None):
    """What every student's page needs: None when there is no such class, else {closed, expired,
    version, follow: (path, query, title, when) or None, revealed: {qid: correct option index}}."""
    now = _now(now)
    with engine.connect() as conn:
        row = conn.execute(sa.select(classes).where(classes.c.code == code)).first()
        if row is None:
            return None
        shown = conn.execute(sa.select(questions.c.qid, questions.c.answer).where(
            questions.c.code == code, questions.c.revealed.is_(True))).all()
    return dict(code=code, closed=bool(row.closed), expired=row.expires_at <= now, version=row.version,
                expires_at=row.expires_at,
                follow=(row.follow_path, row.follow_query or "", row.follow_title or "", row.follow_at)
                if row.follow_path else None,
                revealed={q.qid: q.answer for q in shown})


def my_answers(engine, code, student):
    with engine.connect() as conn:
        rows = conn.execute(sa.select(answers.c.qid, answers.c.choice).where(
            answers.c.code == code, answers.c.student == str(student))).all()
    return {r.qid: r.choice for r in rows}


def tally(engine, code):
    """(number of joined students, [per question, in the order first answered: {qid, question, options,
    answer, revealed, counts [one per option], answered}]). Counts, never names."""
    with engine.connect() as conn:
        n_students = conn.execute(sa.select(sa.func.count()).select_from(students).where(
            students.c.code == code)).scalar_one()
        qs = conn.execute(sa.select(questions).where(questions.c.code == code)
                          .order_by(questions.c.first_at, questions.c.qid)).all()
        counts = conn.execute(sa.select(answers.c.qid, answers.c.choice, sa.func.count()).where(
            answers.c.code == code).group_by(answers.c.qid, answers.c.choice)).all()
    by_q = {}
    for qid, choice, n in counts:
        by_q.setdefault(qid, {})[choice] = n
    out = []
    for q in qs:
        options = json.loads(q.options)
        got = by_q.get(q.qid, {})
        row = [got.get(k, 0) for k in range(len(options))]
        out.append(dict(qid=q.qid, question=q.question, options=options, answer=q.answer,
                        revealed=bool(q.revealed), counts=row, answered=sum(row)))
    return n_students, out


def nickname_of(engine, code, student):
    with engine.connect() as conn:
        row = conn.execute(sa.select(students.c.nickname).where(
            students.c.code == code, students.c.student == str(student))).first()
    return None if row is None else row.nickname


# ------------------------------------------------------------------------------------------- challenge
def submit_result(engine, code, student, result, settings, now=None):
    """Keep `student`'s best challenge result (lowest test loss); returns True when this one is the new best.

    `result` must come from classmode.challenge.run on the server, never from a browser.
    """
    now = _now(now)
    with _write(engine) as conn:
        _open_row(conn, code, now)
        if conn.execute(sa.select(students.c.student).where(
                students.c.code == code, students.c.student == str(student))).first() is None:
            raise ClassError(f"You are not in class {code} (any more): join it again.")
        written = _upsert(conn, results, ("code", "student"),
                          dict(code=code, student=str(student), test_loss=float(result["test_loss"]),
                               test_acc=float(result["test_acc"]), weights=int(result["weights"]),
                               steps=int(result["steps"]), settings=json.dumps(settings, sort_keys=True),
                               submitted_at=now),
                          update=("test_loss", "test_acc", "weights", "steps", "settings", "submitted_at"),
                          where=lambda new: new.test_loss < results.c.test_loss)
    return written > 0


def leaderboard(engine, code, top=10):
    """The best result of each student, lowest test loss first (earlier submission wins a tie)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(students.c.nickname, results.c.student, results.c.test_loss, results.c.test_acc,
                      results.c.weights, results.c.steps, results.c.settings)
            .join(students, sa.and_(students.c.code == results.c.code, students.c.student == results.c.student))
            .where(results.c.code == code)
            .order_by(results.c.test_loss, results.c.submitted_at).limit(top)).all()
    return [dict(rank=k + 1, nickname=r.nickname, student=r.student, test_loss=r.test_loss, test_acc=r.test_acc,
                 weights=r.weights, steps=r.steps, settings=json.loads(r.settings)) for k, r in enumerate(rows)]
