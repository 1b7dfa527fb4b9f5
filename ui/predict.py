"""Predict, then try: the learner commits to a prediction before the page shows what happens.

    choice = ui.predict("ch03_lr10", "Set the learning rate to 10. What will the loss do?",
                        ["Fall faster", "Jump around or blow up", "Stay the same"], answer=1,
                        why=f"With lr = 10 the first step moved the loss from {a:.2f} to {b:.2f}.",
                        try_it=lambda: ui.plot(run_with_lr_10(), key="lr10"))

`why` is written by the page from its own computed numbers, never a hard-coded claim about a result.
When those numbers are costly, pass `reveal=lambda: (answer, why)` instead: it runs only after a pick, so a
widget change that makes them stale costs nothing until someone asks.
"""
import streamlit as st

PREFIX = "predict_"   # widget keys; not bound to the URL (a prediction is not a setting a link restores)


def predict(qid, prompt, options, answer=None, why=None, try_it=None, reveal=None):
    """Ask `prompt` with `options` (radio, no default); after a pick show right / not quite, `why`, and
    `try_it()` (an optional zero-argument callable that draws what happens). The answer is sent to the
    class when this tab joined one (ui.classmode.record). Returns the chosen option, or None before a pick.
    reveal: a zero-argument callable returning (answer, why), called only after a pick (instead of both).

    A fragment: picking reruns only the prediction, not the page's simulation (the return value is the
    choice at the page's last full run)."""
    options = tuple(str(o) for o in options)
    if reveal is None:
        _check_answer(answer, options)
        reveal = (answer, why)
    return _prediction(qid, prompt, options, reveal, try_it)


def _check_answer(answer, options):
    if not 0 <= answer < len(options):
        raise ValueError(f"answer {answer} is not an index into {len(options)} options")


@st.fragment
def _prediction(qid, prompt, options, reveal, try_it):
    with st.container(border=True):
        st.markdown(":material/psychology_alt: **Predict, then try**")
        choice = st.radio(prompt, options, index=None, key=PREFIX + qid)
        if choice is None:
            st.caption("Pick your prediction to see what happens and why.")
            return None
        k = options.index(choice)
        answer, why = reveal if isinstance(reveal, tuple) else reveal()
        _check_answer(answer, options)
        from ui import classmode   # imported here: classmode imports ui
        problem = classmode.record(qid, prompt, options, answer, k)
        if problem:
            st.warning(problem, icon=":material/schedule:")
        if k == answer:
            st.success(f"Your prediction was right. {why}", icon=":material/check_circle:")
        else:
            st.error(f"Not this time: it is **{options[answer]}**. {why}", icon=":material/cancel:")
        if try_it is not None:
            try_it()
        return choice
