"""Silero VAD on ONNX Runtime: one speech probability per 512-sample window, every request of one
execute() stepped together.

Each request row is a lane with its own state. A window is fed as silero-vad's OnnxWrapper feeds it:
the previous window's last 64 samples, then 512 new ones, with the LSTM state carried over; a partial
last window is zero-padded. Lanes are sorted longest first, so those still running at window t are a
prefix of the batch, and each step is one session run over all of them.
"""

from __future__ import annotations

import numpy as np
import triton_python_backend_utils as pb_utils
from vidsafe_model_host.sessions import open_session

WINDOW = 512
CONTEXT = 64
LSTM_LAYERS, LSTM_WIDTH = 2, 128
LSTM_SIZE = LSTM_LAYERS * LSTM_WIDTH
STATE_SIZE = LSTM_SIZE + CONTEXT  # the STATE tensor: the LSTM state, then the context samples
SAMPLE_RATE = np.array(16000, dtype=np.int64)


def windows_of(samples: int) -> int:
    return -(-samples // WINDOW)


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        self.session = open_session(args, "silero_vad.onnx")

    def execute(self, requests: list) -> list:
        audios, states = [], []
        for request in requests:
            audio = pb_utils.get_input_tensor_by_name(request, "AUDIO").as_numpy()
            state = pb_utils.get_input_tensor_by_name(request, "STATE")
            audios.append(audio)
            states.append(np.zeros((len(audio), STATE_SIZE), np.float32) if state is None else state.as_numpy())
        probs, state_out = self.run([row for audio in audios for row in audio], np.concatenate(states))
        responses, first = [], 0
        for audio in audios:
            rows = range(first, first + len(audio))
            first += len(audio)
            # Rows of one request have one length, so their probabilities stack.
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("PROBS", np.stack([probs[row] for row in rows])),
                pb_utils.Tensor("STATE_OUT", np.ascontiguousarray(state_out[rows.start:rows.stop])),
            ]))
        return responses

    def run(self, lanes: list[np.ndarray], state: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Speech probabilities of each lane's windows, and each lane's state after its last window."""
        windows = np.array([windows_of(len(lane)) for lane in lanes], dtype=np.int64)
        order = np.argsort(-windows, kind="stable")
        steps = int(windows.max(initial=0))
        audio = np.zeros((len(lanes), steps * WINDOW), np.float32)
        for row, lane in enumerate(order):
            audio[row, :len(lanes[lane])] = lanes[lane]
        lstm = np.ascontiguousarray(
            state[order, :LSTM_SIZE].reshape(-1, LSTM_LAYERS, LSTM_WIDTH).transpose(1, 0, 2), dtype=np.float32)
        context = state[order, LSTM_SIZE:].astype(np.float32)
        probs = np.zeros((len(lanes), steps), np.float32)
        running = windows[order]
        for step in range(steps):
            active = int(np.count_nonzero(running > step))
            chunk = np.concatenate([context[:active], audio[:active, step * WINDOW:(step + 1) * WINDOW]], axis=1)
            inputs = {"input": chunk, "state": np.ascontiguousarray(lstm[:, :active]), "sr": SAMPLE_RATE}
            out, lstm[:, :active] = self.session.run(["output", "stateN"], inputs)
            probs[:active, step] = out[:, 0]
            context[:active] = chunk[:, -CONTEXT:]
        sorted_state = np.concatenate([lstm.transpose(1, 0, 2).reshape(-1, LSTM_SIZE), context], axis=1)
        state_out = np.empty_like(sorted_state)
        state_out[order] = sorted_state
        lane_probs = [np.empty(0, np.float32)] * len(lanes)
        for row, lane in enumerate(order):
            lane_probs[lane] = probs[row, :windows[lane]]
        return lane_probs, state_out

    def finalize(self) -> None:
        self.session = None
