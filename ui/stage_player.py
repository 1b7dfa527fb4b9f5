"""Play / Step / Reset through the stages of an animation, one frame per tick of a fragment's timer (page 6: stored,
shuffled, sliced).

The state lives in st.session_state under the page's prefix: <p>_frame (frames shown so far), <p>_target (the frame
to stop at), <p>_playing (the timer runs) and <p>_timer_changed (Play, Step or Reset asked for the timer to start or
stop: that takes one rerun of the whole page, since a fragment's run_every is fixed when the page draws it).

The timer itself (start, stop, playing, tick) is shared with the pages that animate a counter of their own
(page 4's backward steps, page 5's race step): <prefix>_playing and <prefix>_timer_changed, as above.
"""
import streamlit as st


def playing(prefix):
    """Is the Play timer of `prefix` running? (Read it for the fragment's run_every.)"""
    return bool(st.session_state.get(f"{prefix}_playing"))


def start(prefix):
    """Play: start the timer (the page reruns once, to draw its fragment with run_every)."""
    st.session_state.update({f"{prefix}_playing": True, f"{prefix}_timer_changed": True})


def stop(prefix):
    """Pause: stop the timer (the page reruns once, to draw its fragment without run_every)."""
    st.session_state.update({f"{prefix}_playing": False, f"{prefix}_timer_changed": True})


def tick(prefix, frame, end, store, stride=1):
    """Call first thing in the fragment. While playing, move `frame` `stride` further (at most to `end`) and
    `store(frame)` it; at `end` the timer stops. Returns the frame to draw."""
    if st.session_state.pop(f"{prefix}_timer_changed", False):
        st.rerun()   # Play or Pause: rerun the page once, to start or stop the fragment's timer
    if playing(prefix):
        if frame < end:
            frame = min(end, frame + stride)
            store(frame)
        if frame >= end:   # arrived: stop the timer (a full rerun draws the fragment without it)
            st.session_state[f"{prefix}_playing"] = False
            st.rerun()
    return frame


class StagePlayer:
    def __init__(self, prefix, frames_per_stage, n_stages):
        self.prefix, self.frames, self.last = prefix, frames_per_stage, frames_per_stage * (n_stages - 1)

    def _get(self, name, default=None):
        return st.session_state.get(f"{self.prefix}_{name}", default)

    def _set(self, **values):
        st.session_state.update({f"{self.prefix}_{name}": value for name, value in values.items()})

    def frame(self):
        return int(self._get("frame", 0))

    def playing(self):
        return playing(self.prefix)

    def _animate_to(self, stage):
        self._set(target=stage * self.frames)
        start(self.prefix)

    def play(self):
        if self.frame() >= self.last:   # Play at the end starts again from the first stage
            self._set(frame=0)
        self._animate_to(self.last // self.frames)

    def step(self):
        self._animate_to(min(self.frame() // self.frames + 1, self.last // self.frames))

    def reset(self):
        self._set(frame=0, target=0)
        if self.playing():
            stop(self.prefix)

    def advance(self):
        """Call first thing in the fragment: one frame further while playing; returns the frame to draw."""
        frame = self.frame()
        return tick(self.prefix, frame, int(self._get("target", frame)), lambda f: self._set(frame=f))

    def buttons(self, frame, play_help, step_help):
        """Play (key P), Step (key S) and Reset in one row; keys <p>_play, <p>_step, <p>_reset."""
        moving = self.playing()
        row = st.container(horizontal=True, gap="small", vertical_alignment="center")
        row.button("Play", key=f"{self.prefix}_play", icon=":material/play_arrow:", on_click=self.play,
                   disabled=moving, type="primary", shortcut="P", help=play_help)
        row.button("Step", key=f"{self.prefix}_step", icon=":material/skip_next:", on_click=self.step,
                   disabled=moving or frame >= self.last, shortcut="S", help=step_help)
        row.button("Reset", key=f"{self.prefix}_reset", icon=":material/restart_alt:", on_click=self.reset,
                   disabled=frame == 0)
