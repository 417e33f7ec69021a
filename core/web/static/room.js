// The room page: one socket per room (a snapshot, then numbered events), the stage and
// the audience drawn from that state, and the controls each person's role allows.
import { api, el, flash } from "./api.js";

const section = document.getElementById("room");
const roomId = section.dataset.roomId;
const me = section.dataset.me ? Number(section.dataset.me) : null;
const RANK = { host: 3, moderator: 2, speaker: 1, listener: 0 };
const FINAL_CLOSE_CODES = new Set([4001, 4003, 4004]);

const state = { room: null, members: new Map(), seq: 0, epoch: null, triedJoin: false };
let socket = null;
let retryDelay = 500;

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let url = `${scheme}//${location.host}/api/rooms/${roomId}/ws`;
  if (state.epoch) url += `?since=${state.seq}&epoch=${encodeURIComponent(state.epoch)}`;
  setConnection("connecting…");
  socket = new WebSocket(url);
  socket.addEventListener("open", () => { retryDelay = 500; setConnection(""); });
  socket.addEventListener("message", (message) => receive(JSON.parse(message.data)));
  socket.addEventListener("close", (event) => {
    if (FINAL_CLOSE_CODES.has(event.code)) {
      if (event.code === 4001) { state.room.state = "ended"; state.members.clear(); render(); }
      return;
    }
    setConnection("reconnecting…");
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 10000);
  });
}

function setConnection(text) {
  document.getElementById("connection").textContent = text;
}

function receive(msg) {
  if (msg.error) { flash(msg.error.message); return; }
  if (msg.type === "snapshot") {
    state.room = msg.room;
    state.members = new Map([...msg.room.stage, ...msg.room.audience].map((m) => [m.user_id, m]));
    state.seq = msg.seq;
    state.epoch = msg.epoch;
    render();
    maybeJoin();
    return;
  }
  if (msg.type !== "event") return;
  if (msg.epoch !== state.epoch || msg.seq !== state.seq + 1) {
    // A gap: drop this socket and resume from the last event we applied.
    socket.close();
    return;
  }
  state.seq = msg.seq;
  if (msg.user_id !== null && msg.user_id !== undefined) {
    if (msg.member) state.members.set(msg.user_id, msg.member);
    else state.members.delete(msg.user_id);
  }
  Object.assign(state.room, msg.room);
  if (msg.kind === "ended") state.members.clear();
  if (msg.kind === "member_removed" && msg.user_id === me) flash("You were removed from this room.");
  render();
}

async function maybeJoin() {
  if (!me || state.triedJoin || state.room.state !== "live" || state.members.has(me)) return;
  state.triedJoin = true;
  await act("POST", "join");
}

async function act(method, path, body = {}) {
  try {
    await api(method, `/api/rooms/${roomId}/${path}`, method === "DELETE" ? undefined : body);
    flash("");
  } catch (error) {
    flash(error.message);
  }
}

function button(label, onclick, attrs = {}) {
  return el("button", { type: "button", onclick, ...attrs }, label);
}

function myControls(mine) {
  const room = state.room;
  if (room.state === "ended") return [el("p", { class: "ended" }, "This room has ended.")];
  if (room.state === "scheduled") {
    return room.creator && room.creator.id === me ? [button("Open the room now", () => act("POST", "open"), { class: "primary" })] : [];
  }
  if (!me) return [];
  if (!mine) return [button("Join", () => act("POST", "join"), { class: "primary" })];
  const out = [];
  if (!mine.on_stage) {
    if (mine.invited_to_speak) {
      out.push(el("span", { class: "note" }, "You're invited to speak."));
      out.push(button("Join the stage", () => act("POST", "invitation/accept"), { class: "primary" }));
      out.push(button("Not now", () => act("POST", "invitation/decline")));
    }
    out.push(mine.hand_raised
      ? button("Lower hand", () => act("DELETE", "hand"))
      : button("✋ Raise hand", () => act("POST", "hand")));
  } else {
    if (mine.muted_by_moderator) out.push(el("span", { class: "note" }, "A moderator muted you."));
    out.push(mine.muted
      ? button("Unmute", () => act("POST", "mute", { user_id: me, muted: false }), { disabled: mine.muted_by_moderator })
      : button("Mute", () => act("POST", "mute", { user_id: me, muted: true })));
    if (mine.role !== "host") out.push(button("Move to audience", () => act("POST", "move-to-audience", { user_id: me })));
  }
  if (RANK[mine.role] >= RANK.moderator) {
    out.push(button("End room", () => { if (confirm("End this room for everyone?")) act("POST", "end"); }, { class: "danger" }));
  }
  out.push(button("Leave quietly", () => act("POST", "leave").then(() => { location.href = "/"; })));
  return out;
}

function memberActions(mine, m) {
  if (!mine || m.user_id === me || state.room.state !== "live") return [];
  const canAct = mine.role === "host" || (mine.role === "moderator" && RANK[m.role] < RANK.moderator);
  if (!canAct) return [];
  const target = { user_id: m.user_id };
  const name = m.user ? m.user.display_name : `#${m.user_id}`;
  const out = [];
  if (!m.on_stage && !m.invited_to_speak) out.push(button("Invite to speak", () => act("POST", "invite-to-speak", target), { "aria-label": `Invite ${name} to speak` }));
  if (m.on_stage && m.role !== "host") out.push(button("Move to audience", () => act("POST", "move-to-audience", target), { "aria-label": `Move ${name} to the audience` }));
  if (m.on_stage) {
    out.push(m.muted_by_moderator
      ? button("Lift mute", () => act("POST", "mute", { ...target, muted: false }), { "aria-label": `Lift the mute on ${name}` })
      : button("Mute", () => act("POST", "mute", { ...target, muted: true }), { "aria-label": `Mute ${name}` }));
  }
  if (mine.role === "host" && m.role === "speaker") out.push(button("Make moderator", () => act("POST", "make-moderator", target), { "aria-label": `Make ${name} a moderator` }));
  out.push(button("Remove", () => { if (confirm(`Remove ${name} from this room?`)) act("POST", "remove", target); }, { class: "danger", "aria-label": `Remove ${name}` }));
  return out;
}

function memberItem(mine, m) {
  const name = m.user ? m.user.display_name : `#${m.user_id}`;
  const badges = [];
  if (m.role !== "listener" && m.role !== "speaker") badges.push(el("span", { class: `badge ${m.role}` }, m.role));
  if (m.on_stage) badges.push(el("span", { class: "mic", title: m.muted ? "muted" : "microphone on" }, m.muted ? "🔇" : "🎙"));
  if (m.hand_raised) badges.push(el("span", { class: "hand", title: "hand raised" }, "✋"));
  if (m.invited_to_speak) badges.push(el("span", { class: "note" }, "invited"));
  return el("li", { class: "person", dataset: { userId: m.user_id, role: m.role } },
    el("span", { class: "avatar", "aria-hidden": "true" }, name.slice(0, 1).toUpperCase()),
    el("a", { class: "name", href: m.user ? `/users/${m.user.username}` : "#" }, name),
    ...badges,
    el("span", { class: "actions" }, ...memberActions(mine, m)),
  );
}

function render() {
  const room = state.room;
  const mine = me ? state.members.get(me) : undefined;
  document.getElementById("room-title").textContent = room.title;
  document.getElementById("room-description").textContent = room.description;
  document.getElementById("room-state").textContent = room.state;
  document.getElementById("room-count").textContent = state.members.size;
  const members = [...state.members.values()];
  const stage = members.filter((m) => m.on_stage).sort((a, b) => RANK[b.role] - RANK[a.role] || a.joined_order - b.joined_order);
  const audience = members.filter((m) => !m.on_stage).sort((a, b) => (b.hand_raised - a.hand_raised) || a.joined_order - b.joined_order);
  document.getElementById("stage").replaceChildren(...stage.map((m) => memberItem(mine, m)));
  document.getElementById("audience").replaceChildren(...audience.map((m) => memberItem(mine, m)));
  document.getElementById("my-controls").replaceChildren(...myControls(mine));
}

connect();
