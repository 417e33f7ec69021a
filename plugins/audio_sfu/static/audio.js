// The room's audio: one WebRTC connection per member to the server's forwarding unit.
//
// The connection is offered once, as soon as I am in a live room: one sending audio
// line for my microphone (empty while I listen) and one receiving line per forwarded
// speaker slot. Going on stage attaches the microphone with replaceTrack, going back
// to the audience detaches it: no new connection. Mute is the server's to enforce; here
// it only switches the track off. Every slot plays through its own <audio> element;
// if the browser refuses to start sound before a gesture, the first click or key press
// anywhere (or the "Start audio" button) starts it. A connection that fails or stays
// disconnected is replaced, with a growing delay.
import { api } from "/static/api.js";

const section = document.getElementById("room");
const roomId = section.dataset.roomId;
const extras = document.getElementById("room-extras");

const view = { room: null, mine: null };
let pc = null;
let mic = null; // the sending transceiver
let micTrack = null;
let micPending = null;
let connecting = false;
let unavailable = false; // the server runs no audio transport: stop asking
let retryDelay = 1000;
let retryTimer = null;
let blipTimer = null;
let speaking = [];
const players = [];

// -- controls -------------------------------------------------------------------

const status = document.createElement("span");
status.className = "audio-status";
status.setAttribute("role", "status");
const startButton = document.createElement("button");
startButton.type = "button";
startButton.className = "audio-start";
startButton.textContent = "Start audio";
startButton.hidden = true;
startButton.addEventListener("click", () => startPlayback());
const box = document.createElement("span");
box.className = "audio-controls";
box.append(status, startButton);
const sink = document.createElement("div");
sink.hidden = true;
if (extras) extras.append(box, sink);

function setStatus(text) {
  status.textContent = text ? `Audio: ${text}` : "";
}

// -- playback -------------------------------------------------------------------

function attach(track) {
  const audio = document.createElement("audio");
  audio.autoplay = true;
  audio.srcObject = new MediaStream([track]);
  sink.append(audio);
  players.push(audio);
  play(audio);
}

function play(audio) {
  const started = audio.play();
  if (started) started.catch(() => { startButton.hidden = false; });
}

function startPlayback() {
  startButton.hidden = true;
  for (const audio of players) play(audio);
}

// Autoplay rules: the first gesture on the page starts the sound.
for (const kind of ["pointerdown", "keydown"]) {
  document.addEventListener(kind, () => { if (!startButton.hidden) startPlayback(); }, { capture: true });
}

// -- the connection ---------------------------------------------------------------

function present() {
  return view.room && view.room.state === "live" && view.mine;
}

async function connect() {
  if (pc || connecting || unavailable || !present()) return;
  connecting = true;
  setStatus("connecting…");
  try {
    const config = await api("GET", `/api/rooms/${roomId}/audio`);
    const conn = new RTCPeerConnection({ iceServers: config.ice_servers });
    pc = conn;
    mic = conn.addTransceiver("audio", { direction: "sendonly" });
    for (let i = 0; i < config.slots; i++) conn.addTransceiver("audio", { direction: "recvonly" });
    conn.addEventListener("track", (event) => attach(event.track));
    conn.addEventListener("connectionstatechange", () => stateChanged(conn));
    await conn.setLocalDescription(await conn.createOffer());
    await gathered(conn, 3000);
    const answer = await api("POST", `/api/rooms/${roomId}/audio`, { type: "offer", sdp: conn.localDescription.sdp });
    if (pc !== conn) return;
    await conn.setRemoteDescription(answer);
    await applyMicrophone();
  } catch (err) {
    teardown();
    if (err && err.status === 503) {
      unavailable = true;
      setStatus("not available on this server");
      return;
    }
    retryLater();
  } finally {
    connecting = false;
  }
}

function gathered(conn, limit) {
  if (conn.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (conn.iceGatheringState === "complete") { clearTimeout(timer); resolve(); } };
    const timer = setTimeout(resolve, limit); // offer what we have
    conn.addEventListener("icegatheringstatechange", done);
  });
}

function stateChanged(conn) {
  if (conn !== pc) return;
  const state = conn.connectionState;
  clearTimeout(blipTimer);
  if (state === "connected") {
    retryDelay = 1000;
    setStatus("on");
  } else if (state === "disconnected") {
    setStatus("reconnecting…");
    // A short blip often heals by itself; if not, start over.
    blipTimer = setTimeout(() => { if (pc === conn && conn.connectionState !== "connected") { teardown(); retryLater(); } }, 4000);
  } else if (state === "failed" || state === "closed") {
    setStatus("reconnecting…");
    teardown();
    retryLater();
  }
}

function retryLater() {
  clearTimeout(retryTimer);
  if (!present()) return;
  retryTimer = setTimeout(connect, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 10000);
}

function teardown() {
  clearTimeout(blipTimer);
  if (pc) pc.close();
  pc = null;
  mic = null;
  stopMicrophone();
  for (const audio of players.splice(0)) { audio.srcObject = null; audio.remove(); }
  if (!present()) setStatus("");
}

// -- the microphone ----------------------------------------------------------------

async function applyMicrophone() {
  const mine = view.mine;
  if (!mic || !mine) return;
  if (mine.on_stage) {
    if (!micTrack && !micPending) {
      micPending = navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
      try {
        const stream = await micPending;
        micTrack = stream.getAudioTracks()[0];
      } catch (err) {
        setStatus("no microphone (check the browser's permission)");
      } finally {
        micPending = null;
      }
      if (!micTrack) return;
      if (!mic || !view.mine || !view.mine.on_stage) { stopMicrophone(); return; }
      await mic.sender.replaceTrack(micTrack);
    }
    if (micTrack) micTrack.enabled = !view.mine.muted;
  } else if (micTrack) {
    await mic.sender.replaceTrack(null);
    stopMicrophone();
  }
}

function stopMicrophone() {
  if (micTrack) micTrack.stop();
  micTrack = null;
}

// -- who is speaking ------------------------------------------------------------------

function showSpeaking() {
  const now = new Set(speaking);
  for (const li of document.querySelectorAll("#stage > li.person, #audience > li.person")) {
    const on = now.has(Number(li.dataset.userId));
    li.classList.toggle("speaking", on);
    if (on) li.dataset.speaking = "yes"; else delete li.dataset.speaking;
  }
}

document.addEventListener("salon:room-message", (event) => {
  const msg = event.detail;
  if (msg.type !== "speaking" || String(msg.room_id) !== String(roomId)) return;
  speaking = msg.speaking;
  showSpeaking();
});

document.addEventListener("salon:room", (event) => {
  const { room, mine } = event.detail;
  view.room = room;
  view.mine = mine;
  if (present()) {
    if (!pc) connect();
    else applyMicrophone();
  } else if (pc || connecting) {
    teardown();
  }
  showSpeaking(); // the lists were just redrawn
});

// For tests and curious people: the live connection.
window.salonAudio = { connection: () => pc, microphone: () => micTrack, players };
