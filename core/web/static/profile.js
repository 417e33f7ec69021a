import { api, el, flash } from "./api.js";

const section = document.getElementById("profile");
const username = section.dataset.username;
const me = section.dataset.me;

async function load() {
  let profile;
  try {
    profile = await api("GET", `/api/users/${encodeURIComponent(username)}`);
  } catch (error) {
    flash(error.message);
    return;
  }
  document.getElementById("profile-name").textContent = `${profile.display_name} (@${profile.username})`;
  document.getElementById("profile-bio").textContent = profile.bio;
  document.getElementById("followers-count").textContent = profile.followers_count;
  document.getElementById("following-count").textContent = profile.following_count;
  // Plugins' scripts (salon_page_assets) draw their parts, e.g. from profile.extras.
  document.dispatchEvent(new CustomEvent("salon:profile", { detail: { profile, me } }));
  const actions = document.getElementById("profile-actions");
  actions.replaceChildren();
  if (me && me !== profile.username) {
    const following = profile.followed_by_viewer;
    actions.append(el("button", {
      type: "button", class: following ? "" : "primary", id: "follow-button",
      onclick: async () => {
        try {
          await api(following ? "DELETE" : "POST", `/api/users/${encodeURIComponent(username)}/follow`, following ? undefined : {});
          await load();
        } catch (error) { flash(error.message); }
      },
    }, following ? "Unfollow" : "Follow"));
  }
}
load();
