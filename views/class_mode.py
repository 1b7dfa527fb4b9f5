"""Class mode: the teacher starts a class, students join with its code, answers are tallied live."""
import streamlit as st

import ui
from classmode import challenge, store
from ui import classmode as cm

L = ui.page("Class mode",
            "Students join with a code or QR code; their quiz answers show up here as live counts, never names.",
            widths=(1, 1.4))
with L.below:
    st.markdown(
        "Make the class visible to itself. Start a class on the projector: students join with its code or "
        "QR code, and every quiz they answer on any page shows up here as a live count, never with names. "
        "Reveal the answer when you are ready, send everyone to the page you are showing, and run a "
        "challenge on the live-training page with a leaderboard. No accounts, no personal data; a class "
        "and everything in it is deleted after 24 hours.")

cm.teach_from_link()
cm.join_from_link()
cm.show_problem()
held = cm.teaching()

if held:  # ------------------------------------------------------------------ the teacher's view
    code, _token = held
    state = cm.class_state(code)
    if state is None or state["expired"]:
        st.warning(f"Class {code} has expired (classes last 24 hours) and its data is deleted.",
                   icon=":material/timer_off:")
        st.button("Start a new class", key="cm_restart", icon=":material/add:", on_click=cm.on_new_class)
        st.stop()
    link = cm.join_link(code)
    with L.picture:
        st.metric("Class code", code)
        st.image(cm.qr_png(link), width=520 if ui.presenter() else 400,
                 caption="Scan to join (the QR code holds the join link below).")
        st.caption("Join link (the code works too, typed on this page):")
        st.code(link, language=None, wrap_lines=True)
    with L.controls:
        if state["closed"]:
            st.info("This class is closed: students see that it has ended. Its data is deleted 24 hours "
                    "after it started.", icon=":material/lock:")
            st.button("Start a new class", key="cm_restart", icon=":material/add:", on_click=cm.on_new_class)
        else:
            st.button("Close the class", key="cm_close", icon=":material/lock:", on_click=cm.on_close)
        cm.teacher_live()
    with L.more:
        st.markdown(":material/key: **Teacher link (keep it secret)**")
        st.caption("Opens this teacher view again after a server restart, or on another device. Whoever "
                   "has it can reveal answers, send the class to a page and close the class.")
        st.code(cm.teacher_link(code, _token), language=None, wrap_lines=True)
    with L.below:
        ui.explain(
            "**Follow me.** Open any page, set its controls, and press **Send my class here** in the "
            "sidebar: every student gets a banner that opens the same page with your settings.\n\n"
            "**Reveal.** Students in a class see no feedback on a quiz until you reveal its answer; "
            "then it appears on their own page.\n\n"
            f"**Challenge.** {challenge.DESCRIPTION} Students submit from page 7 (*Live training*); the "
            "server trains their settings again and ranks the test loss it measured itself.",
            title="How to run a class")

else:  # ---------------------------------------------------------------------- students, or nobody yet
    code = cm.current_class()
    if code:
        state = cm.class_state(code)
        ended = state is None or state["expired"] or state["closed"]
        if not ended:
            with L.picture:
                st.image(cm.qr_png(cm.join_link(code)), width=360,
                         caption=f"Class {code}: a neighbour can scan this to join too.")
        with L.controls:
            if ended:
                st.warning(f"Class {code} has ended.", icon=":material/group_off:")
            else:
                st.success(f"You are in class {code}. Answer the quiz at the end of any page: your answer "
                           "goes to the class's tally (counts only, never names).", icon=":material/group:")
            st.caption("Stay in this browser tab and move between pages with the sidebar: reloading the page or "
                       "opening the app in a new tab leaves the class (rejoin with the link or the code).")
            nickname = store.nickname_of(cm.engine(), code, cm.student_id())
            st.caption("Your nickname (optional, shown on the challenge leaderboard):")
            st.text(nickname or "(none)")
            st.text_input("Change your nickname", max_chars=store.MAX_NICKNAME, key="cm_nick_in",
                          placeholder="at most 20 characters")
            st.button("Save nickname", key="cm_nick_save", icon=":material/badge:", on_click=cm.on_save_nickname)
            st.button("Leave the class", key="cm_leave", icon=":material/logout:", on_click=cm.leave)
    else:
        page_link = cm.join_link("X").split("?")[0]   # this page's own address, as the browser reached it
        with L.picture:
            st.image(cm.qr_png(page_link), width=360,
                     caption="Scan to open this page on a phone: students join here with the class code.")
        with L.controls:
            with st.container(border=True):
                st.subheader(":material/login: Join a class")
                st.text_input("Class code", max_chars=12, key="cm_code_in",
                              placeholder=f"{store.CODE_LENGTH} letters from your teacher's screen")
                st.text_input("Nickname (optional)", max_chars=store.MAX_NICKNAME, key="cm_nick_new",
                              placeholder="no real names needed")
                st.button("Join", key="cm_join", icon=":material/login:", type="primary", on_click=cm.on_join)
            with st.container(border=True):
                st.subheader(":material/co_present: Teach a class")
                st.markdown("Get a class code, a join link and a QR code for the projector. Only this browser "
                            "tab can reveal answers, send the class to a page or close the class.")
                st.button("Start a class", key="cm_start", icon=":material/add:", type="primary",
                          on_click=cm.on_start)
