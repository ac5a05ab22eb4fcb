// The review player: the video, streamed by the browser from the gateway with a signed link; the findings drawn
// under it, a lane per category (click or drag to seek); stretches with sensitive findings blurred until the
// reviewer reveals one (one at a time); J/K/L, space, frame steps and speeds from the keyboard. The page hears the
// time where the player is paused (state "time") and the unblurred seconds of sensitive stretches played
// ("exposure_s", every 5 s of them and at each pause).
const LANE_H = 16;
const AXIS_H = 18;
const LABEL_W = 120;
const SPEEDS = [0.25, 0.5, 1, 1.5, 2, 4];

function clock(seconds) {
  const s = Math.max(0, seconds);
  const minutes = Math.floor(s / 60);
  return `${String(minutes).padStart(2, "0")}:${(s - minutes * 60).toFixed(1).padStart(4, "0")}`;
}

function build(root) {
  const box = document.createElement("div");
  box.className = "player";
  box.innerHTML = `
    <div class="frame"><video preload="metadata" playsinline></video>
      <div class="veil"><div class="why"></div><div class="texts"></div>
        <button class="reveal" type="button">Reveal this stretch</button></div>
    </div>
    <div class="bar">
      <button class="play" type="button" title="Play or pause (space, k)">Play</button>
      <button class="back" type="button" title="Back 5 s (j)">-5 s</button>
      <button class="prev" type="button" title="One frame back (,)">&lt; frame</button>
      <button class="next" type="button" title="One frame on (.)">frame &gt;</button>
      <button class="fwd" type="button" title="On 5 s (l)">+5 s</button>
      <select class="speed" title="Playback speed (&lt; and &gt;)">
        ${SPEEDS.map((s) => `<option value="${s}"${s === 1 ? " selected" : ""}>${s}x</option>`).join("")}
      </select>
      <button class="sound" type="button" title="Sound on or off">Sound</button>
      <span class="at">player at 00:00.0</span>
      <span class="keys">j k l · space · , . frame · &lt; &gt; speed</span>
    </div>
    <canvas class="timeline"></canvas>`;
  root.appendChild(box);
  const get = (selector) => box.querySelector(selector);
  return {
    box, video: get("video"), veil: get(".veil"), why: get(".why"), texts: get(".texts"), reveal: get(".reveal"),
    play: get(".play"),
    speed: get(".speed"), sound: get(".sound"), at: get(".at"), canvas: get("canvas"), job: null, src: null,
    seekNonce: null, pendingSeek: null, revealed: -1, exposure: 0, reportedExposure: 0, lastTime: null, data: null,
  };
}

function stretchAt(p, t) {
  return (p.data.stretches || []).findIndex((s) => t >= s.start && t < s.end);
}

function protect(p) {
  const t = p.video.currentTime;
  const index = stretchAt(p, t);
  const blurred = Boolean(p.data.protect.blur) && index >= 0 && index !== p.revealed;
  p.video.classList.toggle("blurred", blurred);
  p.video.classList.toggle("gray", Boolean(p.data.protect.grayscale));
  p.veil.classList.toggle("on", blurred);
  if (blurred) {
    const stretch = p.data.stretches[index];
    p.why.textContent = `${clock(stretch.start)}-${clock(stretch.end)}: ${stretch.why}`;
    p.texts.textContent = stretch.texts ? `on screen and said: ${stretch.texts}` : "";
  }
  return { index, blurred };
}

function draw(p) {
  const { canvas, data } = p;
  const lanes = data.lanes;
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 600;
  const height = AXIS_H + LANE_H * Math.max(1, lanes.length);
  canvas.style.height = `${height}px`;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.clearRect(0, 0, width, height);
  g.font = "11px sans-serif";
  const span = Math.max(data.duration, 0.001);
  const x = (t) => LABEL_W + (Math.min(Math.max(t, 0), span) / span) * (width - LABEL_W);
  lanes.forEach((lane, row) => {
    const y = row * LANE_H;
    g.fillStyle = row % 2 ? "#f4f4f4" : "#fafafa";
    g.fillRect(LABEL_W, y, width - LABEL_W, LANE_H);
    g.fillStyle = "#333";
    g.fillText(lane.name, 2, y + LANE_H - 4, LABEL_W - 6);
  });
  for (const band of data.bands) {
    const row = lanes.findIndex((lane) => lane.name === band.lane);
    g.fillStyle = lanes[row].colour;
    g.globalAlpha = 0.35 + 0.65 * Math.min(1, band.score);
    const left = x(band.start);
    g.fillRect(left, row * LANE_H + 2, Math.max(2, x(band.end) - left), LANE_H - 4);
  }
  g.globalAlpha = 1;
  const axis = LANE_H * Math.max(1, lanes.length);
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600].find((s) => span / s <= 12) || 1200;
  g.fillStyle = "#666";
  let labelsEnd = 0;  // a tick's label is left out where it would run into the one before it
  for (let t = 0; t <= span; t += step) {
    const text = clock(t).replace(/\.0$/, "");
    const left = Math.min(x(t) + 2, width - g.measureText(text).width);
    g.fillRect(x(t), axis, 1, 4);
    if (left < labelsEnd + 6) continue;
    g.fillText(text, left, axis + 14);
    labelsEnd = left + g.measureText(text).width;
  }
  g.fillStyle = "#d00";
  g.fillRect(x(p.video.currentTime) - 1, 0, 2, axis);
}

function timeAt(p, event) {
  const rect = p.canvas.getBoundingClientRect();
  const share = (event.clientX - rect.left - LABEL_W) / Math.max(1, rect.width - LABEL_W);
  return Math.min(Math.max(share, 0), 1) * p.data.duration;
}

function bandAt(p, event) {
  const rect = p.canvas.getBoundingClientRect();
  const lane = p.data.lanes[Math.floor((event.clientY - rect.top) / LANE_H)];
  const t = timeAt(p, event);
  const slack = p.data.duration / Math.max(1, rect.width - LABEL_W) * 3;
  return lane && p.data.bands.find((b) => b.lane === lane.name && t >= b.start - slack && t <= b.end + slack);
}

function seek(p, seconds) {
  const fps = p.data.fps || 25;
  // The middle of the frame that holds the time: the browser then shows that frame, not the one before.
  const frame = Math.floor(Math.max(0, seconds) * fps + 1e-6);
  const target = Math.min((frame + 0.5) / fps, Math.max(0, (p.video.duration || p.data.duration) - 0.5 / fps));
  if (p.video.readyState >= 1) {
    p.video.currentTime = target;
  } else {
    p.pendingSeek = target;
  }
  p.at.textContent = `player at ${clock(seconds)}`;
}

function wire(p, component) {
  const { video, canvas } = p;
  let reportTimer = null;
  let dragging = false;
  let frameRequested = false;
  const report = () => {
    clearTimeout(reportTimer);
    reportTimer = setTimeout(() => {
      component.setStateValue("time", Math.round(video.currentTime * 1000) / 1000);
      if (p.exposure - p.reportedExposure >= 0.5) {
        p.reportedExposure = p.exposure;
        component.setStateValue("exposure_s", Math.round(p.exposure * 10) / 10);
      }
    }, 300);
  };
  const redraw = () => {
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(() => {
      frameRequested = false;
      draw(p);
    });
  };
  video.addEventListener("loadedmetadata", () => {
    if (p.pendingSeek !== null) {
      video.currentTime = p.pendingSeek;
      p.pendingSeek = null;
    }
  });
  video.addEventListener("timeupdate", () => {
    const t = video.currentTime;
    const { index, blurred } = protect(p);
    if (!video.paused && p.lastTime !== null && index >= 0 && !blurred) {
      const played = t - p.lastTime;
      if (played > 0 && played < 1.5) p.exposure += played;
      if (Math.floor(p.exposure / 5) > Math.floor(p.reportedExposure / 5)) report();
    }
    p.lastTime = t;
    p.at.textContent = `player at ${clock(t)} / ${clock(p.data.duration)}`;
    redraw();
  });
  video.addEventListener("play", () => { p.play.textContent = "Pause"; });
  video.addEventListener("pause", () => { p.play.textContent = "Play"; report(); });
  // Seeks are not reported: each report reruns the page, and one just before a click could swallow it.
  video.addEventListener("seeked", () => { p.lastTime = null; protect(p); redraw(); });
  video.addEventListener("volumechange", () => { p.sound.classList.toggle("on", !video.muted); });
  p.reveal.addEventListener("click", () => { p.revealed = stretchAt(p, video.currentTime); protect(p); });
  p.play.addEventListener("click", () => (video.paused ? video.play() : video.pause()));
  p.box.querySelector(".back").addEventListener("click", () => seek(p, video.currentTime - 5));
  p.box.querySelector(".fwd").addEventListener("click", () => seek(p, video.currentTime + 5));
  const step = (frames) => { video.pause(); seek(p, video.currentTime + frames / (p.data.fps || 25)); };
  p.box.querySelector(".prev").addEventListener("click", () => step(-1));
  p.box.querySelector(".next").addEventListener("click", () => step(1));
  p.speed.addEventListener("change", () => { video.playbackRate = Number(p.speed.value); });
  p.sound.addEventListener("click", () => { video.muted = !video.muted; });
  canvas.addEventListener("pointerdown", (event) => {
    dragging = true;
    canvas.setPointerCapture(event.pointerId);
    seek(p, timeAt(p, event));
  });
  canvas.addEventListener("pointermove", (event) => {
    if (dragging) seek(p, timeAt(p, event));
    const band = bandAt(p, event);
    canvas.title = band ? `${band.lane}: ${band.label} ${clock(band.start)}-${clock(band.end)} (${band.score.toFixed(2)})` : "";
  });
  canvas.addEventListener("pointerup", () => { dragging = false; });
  new ResizeObserver(redraw).observe(canvas);
  const speedBy = (change) => {
    const at = SPEEDS.indexOf(video.playbackRate);
    const next = SPEEDS[Math.min(SPEEDS.length - 1, Math.max(0, (at < 0 ? 2 : at) + change))];
    video.playbackRate = next;
    p.speed.value = String(next);
  };
  const keys = {
    " ": () => (video.paused ? video.play() : video.pause()),
    k: () => (video.paused ? video.play() : video.pause()),
    j: () => seek(p, video.currentTime - 5),
    l: () => seek(p, video.currentTime + 5),
    ",": () => step(-1),
    ".": () => step(1),
    "<": () => speedBy(-1),
    ">": () => speedBy(1),
  };
  return (event) => {
    const target = event.composedPath()[0] || event.target;
    const typing = target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
    const action = keys[event.key];
    if (!action || typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === " " && target.tagName === "BUTTON" && !p.box.contains(target)) return;
    event.preventDefault();
    event.stopPropagation();
    action();
  };
}

export default function (component) {
  const root = component.parentElement;
  const data = component.data;
  let p = root.__vidsafePlayer;
  if (!p || !p.box.isConnected) {
    p = build(root);
    p.data = data;
    p.onKey = wire(p, component);
    root.__vidsafePlayer = p;
  }
  p.data = data;
  if (p.job !== data.job) {
    p.job = data.job;
    p.revealed = -1;
    p.exposure = 0;
    p.reportedExposure = 0;
    p.video.muted = Boolean(data.protect.muted);
    p.src = data.src;
    p.video.src = data.src;
  } else if (p.src !== data.src) {
    // A new link to the same video (the old one nears its end): carry on where the player is.
    const at = p.video.currentTime;
    const playing = !p.video.paused;
    p.src = data.src;
    p.video.src = data.src;
    p.pendingSeek = at;
    if (playing) p.video.play();
  }
  p.sound.classList.toggle("on", !p.video.muted);
  if (data.seek && data.seek.nonce !== p.seekNonce) {
    p.seekNonce = data.seek.nonce;
    seek(p, data.seek.t);
  }
  protect(p);
  draw(p);
  document.addEventListener("keydown", p.onKey, true);
  return () => document.removeEventListener("keydown", p.onKey, true);
}
