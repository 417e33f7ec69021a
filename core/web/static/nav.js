import { api, flash } from "./api.js";

const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    try {
      await api("POST", "/api/auth/logout", {});
      location.href = "/";
    } catch (error) {
      flash(error.message);
    }
  });
}
