"""Class mode: a teacher's and students' sessions (AppTest) sharing one database, and the store beneath them."""
import math
import threading
import time

import pytest
import sqlalchemy as sa

from classmode import challenge, store
from tests.apptest_utils import assert_no_exception, open_page

CLASS_PAGE = "views/class_mode.py"


def teacher_session():
    at = open_page(CLASS_PAGE)
    at.button(key="cm_start").click().run()
    assert_no_exception(at)
    code = next(m.value for m in at.metric if m.label == "Class code")
    return at, code


def student_session(code, nickname=None):
    at = open_page(CLASS_PAGE, query={"join": code})
    assert_no_exception(at)
    assert at.session_state["cm_class"] == code
    if nickname is not None:
        at.text_input(key="cm_nick_in").input(nickname).run()
        at.button(key="cm_nick_save").click().run()
    return at


def captions(at):
    return [c.value for c in at.caption]


# ------------------------------------------------------------------------------------------- AppTest
def test_join_answer_tally_and_reveal(db):
    teacher, code = teacher_session()
    assert len(code) == store.CODE_LENGTH and set(code) <= set(store.CODE_ALPHABET)
    assert f"/class?join={code}" in " ".join(c.value for c in teacher.code)
    assert teacher.get("image"), "no QR code on the teacher's page"

    students = [student_session(code) for _ in range(2)]
    for k, s in enumerate(students):
        s.switch_page("views/ch02_shapes.py").run()
        quiz = s.radio(key="quiz_ch2")
        quiz.set_value(quiz.options[1 if k == 0 else 3]).run()   # one right ([32, 128]), one wrong
        assert_no_exception(s)
        shown = " ".join(i.value for i in s.info)
        assert f"Your answer went to class {code}" in shown
        assert not [m.value for m in s.success if m.value.startswith("Right.")], "feedback before the reveal"

    teacher.run()
    assert_no_exception(teacher)
    assert "2 of 2 joined students answered." in captions(teacher)
    _, qs = store.tally(db, code)
    assert [q["counts"] for q in qs if q["qid"] == "ch2"] == [[0, 1, 0, 1]]

    # a later answer replaces the earlier one (never counted twice)
    time.sleep(store.ANSWER_GAP_S)
    students[1].radio(key="quiz_ch2").set_value(students[1].radio(key="quiz_ch2").options[1]).run()
    teacher.run()
    assert "2 of 2 joined students answered." in captions(teacher)
    assert [q["counts"] for q in store.tally(db, code)[1] if q["qid"] == "ch2"] == [[0, 2, 0, 0]]

    teacher.button(key="cm_reveal_ch2").click().run()
    assert_no_exception(teacher)
    assert any("Revealed: [32, 128]" in m.value for m in teacher.success)
    students[0].run()
    assert any(m.value.startswith("Right.") for m in students[0].success), "the reveal did not reach the student"

    # once revealed, changing one's mind no longer changes the tally (and says so)
    time.sleep(store.ANSWER_GAP_S)
    students[0].radio(key="quiz_ch2").set_value(students[0].radio(key="quiz_ch2").options[0]).run()
    assert any("revealed this answer" in w.value for w in students[0].warning)
    assert [q["counts"] for q in store.tally(db, code)[1] if q["qid"] == "ch2"] == [[0, 2, 0, 0]]


def test_follow_me_opens_the_teachers_page_with_the_teachers_settings(db):
    teacher, code = teacher_session()
    student = student_session(code)
    teacher.query_params["shape_b"] = "37"     # what a browser's address holds after moving the slider
    teacher.switch_page("views/ch02_shapes.py").run()
    teacher.button(key="cm_send").click().run()
    assert_no_exception(teacher)

    student.switch_page("views/home.py").run()
    banner = " ".join(i.value for i in student.info)
    assert "Your teacher opened **2 · Shape propagation** with their settings." in banner
    student.button(key="cm_follow").click().run()
    assert_no_exception(student)
    assert next(m.value for m in student.metric if m.label == "Output shape") == "[37, 10]"


def test_challenge_submission_is_recomputed_on_the_server(db):
    teacher, code = teacher_session()
    student = student_session(code, nickname="ada")
    student.switch_page("views/ch07_training.py").run()
    student.slider(key="tr_width").set_value(8).run()        # 2-8-8-3: 123 weights, within the 300 allowed
    student.button(key="tr_step").click().run()
    student.button(key="cm_submit").click().run()
    assert_no_exception(student)

    board = store.leaderboard(db, code)
    assert len(board) == 1 and board[0]["nickname"] == "ada"
    settings = board[0]["settings"]
    assert settings["width"] == 8 and settings["steps"] == 5 and board[0]["weights"] == 123
    again = challenge.run(settings)                      # the server's number, not one the browser sent
    assert board[0]["test_loss"] == pytest.approx(again["test_loss"], rel=1e-6)
    assert f"test loss **{again['test_loss']:.4f}**" in " ".join(m.value for m in student.success)

    teacher.run()
    table = teacher.dataframe[-1].value
    assert list(table["nickname"]) == ["ada"] and table["test loss"][0] == pytest.approx(again["test_loss"], abs=1e-4)


def test_too_many_weights_cannot_be_submitted(db):
    _teacher, code = teacher_session()
    student = student_session(code)
    student.switch_page("views/ch07_training.py").run()          # default 2-16-16-3: 371 weights
    assert student.button(key="cm_submit").disabled
    assert any("371 weights" in w.value for w in student.warning)
    with pytest.raises(ValueError, match="at most 300"):
        challenge.check_settings(dict(optimizer="adam", lr=0.03, loss="cross_entropy", activation="relu",
                                      schedule="constant", batch_size=32, depth=2, width=16, total_steps=1000,
                                      seed=0, steps=5))


HOSTILE = ["[x](http://e.vil)", "<b>bold</b>", "**big** `c`", "a\u202eb\u0000c\u200bd"]


@pytest.mark.parametrize("nickname", HOSTILE)
def test_hostile_nicknames_show_as_plain_text(db, nickname):
    _teacher, code = teacher_session()
    student = student_session(code, nickname=nickname)
    assert_no_exception(student)
    expected = store.clean_nickname(nickname)
    assert [t.value for t in student.text] == [expected]
    markdown = " ".join(m.value for m in student.markdown)
    assert expected not in markdown


def test_nicknames_are_cut_to_20_characters_and_lose_control_characters():
    assert store.clean_nickname("x" * 10_000) == "x" * store.MAX_NICKNAME
    assert store.clean_nickname("a\u202eb\u0000c\u200bd\ne") == "abcd e"
    assert store.clean_nickname(None) == ""


def test_a_student_session_cannot_reveal_or_close(db):
    teacher, code = teacher_session()
    student = student_session(code)
    student.switch_page("views/ch02_shapes.py").run()
    student.radio(key="quiz_ch2").set_value("[32, 128]").run()

    # a student session that claims to teach this class, without its token
    forged = open_page(CLASS_PAGE)
    forged.session_state["cm_teacher"] = (code, "not-the-token")
    forged.run()
    forged.button(key="cm_reveal_ch2").click().run()
    assert any("Only the teacher" in e.value for e in forged.error)
    forged.button(key="cm_close").click().run()
    assert any("Only the teacher" in e.value for e in forged.error)
    state = store.class_state(db, code)
    assert state["revealed"] == {} and not state["closed"]

    for action, args in ((store.reveal, ("ch2",)), (store.follow, ("shapes", "", "x")), (store.close_class, ())):
        for token in (None, "", "x" * 32, 123):
            with pytest.raises(store.NotTeacher):
                action(db, code, token, *args)
    assert store.class_state(db, code)["follow"] is None

    teacher.button(key="cm_close").click().run()
    assert store.class_state(db, code)["closed"]


def test_a_bad_join_link_is_refused_with_a_message(db):
    for raw in ("<script>", "ab", "A" * 500, "ACDEF1"):
        at = open_page(CLASS_PAGE, query={"join": raw})
        assert_no_exception(at)
        assert "cm_class" not in at.session_state
        assert any("not valid" in w.value for w in at.warning)


# ------------------------------------------------------------------------------------------- store
def test_concurrent_answers_are_neither_lost_nor_doubled(db):
    code, _token = store.open_class(db)
    errors = []

    def student(k):
        try:
            store.join(db, code, f"s{k}")
            assert store.answer(db, code, f"s{k}", "q", "Q?", ["a", "b", "c"], 0, k % 3)
            store.answer(db, code, f"s{k}", "q", "Q?", ["a", "b", "c"], 0, (k + 1) % 3)  # too soon: refused
        except Exception as err:  # noqa: BLE001 - any error fails the test below
            errors.append(err)

    threads = [threading.Thread(target=student, args=(k,)) for k in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    n, qs = store.tally(db, code)
    assert n == 30 and qs[0]["counts"] == [10, 10, 10] and qs[0]["answered"] == 30


def test_one_answer_per_second_and_a_later_answer_replaces_the_first(db):
    code, _ = store.open_class(db, now=1000.0)
    store.join(db, code, "s", now=1000.0)
    assert store.answer(db, code, "s", "q", "Q?", ["a", "b"], 1, 0, now=1000.0)
    assert not store.answer(db, code, "s", "q", "Q?", ["a", "b"], 1, 1, now=1000.5)
    assert store.answer(db, code, "s", "q", "Q?", ["a", "b"], 1, 1, now=1001.0)
    assert store.tally(db, code)[1][0]["counts"] == [0, 1]
    with pytest.raises(store.ClassError):
        store.answer(db, code, "s", "q", "Q?", ["a", "b"], 1, 7, now=1003.0)
    with pytest.raises(store.ClassError, match="not in class"):
        store.answer(db, code, "stranger", "q", "Q?", ["a", "b"], 1, 0, now=1003.0)


def test_classes_expire_after_24_hours_and_their_data_is_deleted(db):
    code, _ = store.open_class(db, now=0.0)
    store.join(db, code, "s", now=1.0)
    store.answer(db, code, "s", "q", "Q?", ["a", "b"], 1, 0, now=2.0)
    store.open_class(db, now=store.LIFETIME_S + 1.0)          # opening another purges the expired one
    with db.connect() as conn:
        for table in (store.classes, *store.CHILD_TABLES):
            left = conn.execute(sa.select(sa.func.count()).select_from(table)
                                .where(table.c.code == code)).scalar_one()
            assert left == 0, table.name


def test_limits_on_classes_students_and_wrong_codes(db, monkeypatch):
    monkeypatch.setattr(store, "MAX_OPEN_CLASSES", 2)
    monkeypatch.setattr(store, "MAX_STUDENTS", 3)
    a, _ = store.open_class(db)
    store.open_class(db)
    with pytest.raises(store.ClassError, match="2 open classes"):
        store.open_class(db)
    for k in range(3):
        store.join(db, a, f"s{k}")
    with pytest.raises(store.ClassError, match="3 students"):
        store.join(db, a, "s3")
    store.join(db, a, "s0", "again")                       # already in: no new seat needed

    for _ in range(store.FAILS_PER_SESSION):
        with pytest.raises(store.ClassError, match="No open class"):
            store.join(db, "CCCCCC" if a != "CCCCCC" else "DDDDDD", "guesser")
    with pytest.raises(store.ClassError, match="Too many wrong class codes from this tab"):
        store.join(db, a, "guesser")                       # even the right code, for a while
    for k in range(store.FAILS_GLOBAL):
        try:
            store.join(db, "CCCCCC" if a != "CCCCCC" else "DDDDDD", f"tab{k}")
        except store.ClassError:
            pass
    with pytest.raises(store.ClassError, match="on this server in the last minute"):
        store.join(db, a, "someone-new")


def test_the_class_survives_a_new_engine_on_the_same_file(db, tmp_path):
    """What a server restart sees: a new process opens the SQLite file again."""
    code, token = store.open_class(db)
    store.join(db, code, "s", "ada")
    store.answer(db, code, "s", "q", "Q?", ["a", "b"], 1, 1)
    result = challenge.run(dict(optimizer="adam", lr=0.03, loss="cross_entropy", activation="relu",
                                schedule="constant", batch_size=32, depth=1, width=8, total_steps=1000,
                                seed=0, steps=50))
    store.submit_result(db, code, "s", result, {"width": 8})
    db.dispose()
    fresh = store.configure(sa.create_engine(f"sqlite:///{tmp_path / 'class.sqlite'}"))
    assert store.tally(fresh, code)[1][0]["counts"] == [0, 1]
    assert store.leaderboard(fresh, code)[0]["test_loss"] == pytest.approx(result["test_loss"])
    assert store.is_teacher(fresh, code, token)
    fresh.dispose()


def test_the_challenge_is_deterministic_and_refuses_bad_settings():
    good = dict(optimizer="adam", lr=0.03, loss="cross_entropy", activation="relu", schedule="constant",
                batch_size=32, depth=1, width=16, total_steps=1000, seed=0, steps=100)
    a, b = challenge.run(good), challenge.run(good)
    assert a == b and a["weights"] == 99 and a["steps"] == 100 and math.isfinite(a["test_loss"])
    for bad in (dict(lr=float("nan")), dict(lr=True), dict(steps=501), dict(steps=0), dict(optimizer="lbfgs"),
                dict(width=2.5), dict(depth="1"), dict(seed=-1)):
        with pytest.raises(ValueError):
            challenge.check_settings(dict(good, **bad))


def test_the_teacher_link_gives_the_teacher_view_back_and_a_forged_one_does_not(db):
    teacher, code = teacher_session()
    link = next(c.value for c in teacher.code if "teach=" in c.value)
    query = link.split("?", 1)[1]
    again = open_page(CLASS_PAGE, query=dict([query.split("=", 1)]))
    assert_no_exception(again)
    assert next(m.value for m in again.metric if m.label == "Class code") == code
    assert "teach" not in again.query_params

    for forged in (f"{code}.{'x' * 32}", "garbage", f"{code}.", "<b>." * 50):
        at = open_page(CLASS_PAGE, query={"teach": forged})
        assert_no_exception(at)
        assert "cm_teacher" not in at.session_state
        assert any("teacher link is not valid" in w.value for w in at.warning)


# ------------------------------------------------------------------------------------------- a real server
def test_ten_students_answer_at_once_and_the_class_survives_a_restart():
    """The short version of bench/class_mode.py: 10 protocol-level students on one `streamlit run` server
    answer one quiz within 5 s; the teacher's page shows exactly 10, the database holds exactly one answer
    each; a new server on the same SQLite file shows the same tally and leaderboard."""
    from bench import class_mode
    r = class_mode.measure(students=10, window=5.0, seed=1, restart=True)
    assert r["exceptions"] == 0, r["first_errors"]
    assert r["answers_timed"] == 10
    assert r["teacher_tally"] == (10, 10)
    assert r["counts_in_db"] == r["expected_counts"] and r["answers_in_db"] == 10
    assert r["leaderboard_rows"] == 3
    after = r["after_restart"]
    assert after["exceptions"] == 0, after["errors"]
    assert after["teacher_tally"] == (10, 13)      # the 3 challenge entrants joined too
    assert after["leaderboard_rows"] == 3


def test_secrets_toml_chooses_the_database_when_no_override_is_set(tmp_path):
    """The README's deployment recipe, on a real server: [connections.class_db] url = ... in secrets.toml.
    (AppTest's secrets do not reach st.connection, so this one starts `streamlit run`.)"""
    import asyncio

    from bench.class_mode import ClassTab
    from tests.browser_utils import streamlit_server

    path = tmp_path / "from-secrets.sqlite"
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[connections.class_db]\nurl = "sqlite:///{path}"\n')

    async def start(url):
        async with ClassTab(url) as tab:
            await tab.open("class")
            await tab.click("cm_start")
            return tab.metrics()["Class code"], tab.errors

    env = {"CLASSMODE_DB": "", "STREAMLIT_SECRETS_FILES": str(secrets)}
    with streamlit_server(extra_env=env) as (url, _proc):
        code, errors = asyncio.run(start(url))
    assert not errors
    engine = sa.create_engine(f"sqlite:///{path}")
    assert store.class_state(engine, code) is not None
    engine.dispose()


def test_a_10_kb_hostile_nickname_sent_over_the_websocket_is_cut_and_shown_as_plain_text(tmp_path):
    """A client that ignores the text box's 20-character limit (the protocol, not a browser)."""
    import asyncio

    from bench.class_mode import ClassTab
    from tests.browser_utils import streamlit_server

    hostile = ("[click](http://e.vil) <img src=x onerror=alert(1)> \u202e\u0000" * 200)[:10_000]

    async def go(url):
        async with ClassTab(url) as teacher, ClassTab(url) as student:
            await teacher.open("class")
            await teacher.click("cm_start")
            code = teacher.metrics()["Class code"]
            await student.open("class", query_string=f"join={code}")
            await student.set_widget("text_input", "cm_nick_in", hostile)
            await student.click("cm_nick_save")
            return [t.value for t in student.tree.text], teacher.errors + student.errors

    with streamlit_server(extra_env={"CLASSMODE_DB": str(tmp_path / "c.sqlite")}) as (url, _proc):
        shown, errors = asyncio.run(go(url))
    assert not errors
    assert len(shown) == 1 and len(shown[0]) <= store.MAX_NICKNAME
    assert shown == [store.clean_nickname(hostile)] == ["[click](http://e.vil"]   # st.text: never a link


def test_the_leaderboard_shows_a_hostile_nickname_as_plain_text(db):
    teacher, code = teacher_session()
    for k, nick in enumerate(HOSTILE):
        store.join(db, code, f"s{k}", nick)
        store.submit_result(db, code, f"s{k}", dict(test_loss=1.0 + k, test_acc=0.5, weights=99, steps=10), {})
    teacher.run()
    assert_no_exception(teacher)
    assert list(teacher.dataframe[-1].value["nickname"]) == [store.clean_nickname(n) for n in HOSTILE]


@pytest.mark.parametrize("revealed", [False, True])
def test_tally_figure_is_the_graph_objects_figure(revealed):
    """The teacher's bars are plain dicts (ui.figspec), sent as they are: the same JSON go.Bar made, counts as text
    strings and the revealed answer green."""
    import json

    import plotly.graph_objects as go
    import plotly.utils

    import ui
    from ui import classmode as cm
    q = dict(options=["x" * 80, "short", "[32, 128]"], counts=[12, 9, 0], revealed=revealed, answer=2)
    last = ui.COLORS["correct" if revealed else "neutral"]
    theirs = go.Figure(go.Bar(x=q["counts"], y=["x" * 57 + "...", "short", "[32, 128]"], orientation="h",
                              marker_color=[ui.COLORS["neutral"]] * 2 + [last],
                              text=q["counts"], textposition="auto", hoverinfo="skip"))
    theirs.update_layout(yaxis=dict(autorange="reversed", type="category"), height=90 + 45 * 3, showlegend=False,
                         xaxis=dict(title="answers", rangemode="tozero", dtick=2))
    ours = cm.tally_figure(q)
    assert ours["data"][0]["text"] == ["12", "9", "0"]
    assert json.dumps(ours, cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True) == \
        json.dumps(theirs.to_dict(), cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)
