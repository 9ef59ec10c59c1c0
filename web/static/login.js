import { api, onSubmit } from "./app.js";

const form = document.getElementById("login-form");
onSubmit(form, (f) => api("POST", "/api/v1/auth/login", {
  username: f.elements.username.value,
  password: f.elements.password.value,
}), () => {
  location.href = form.dataset.next || "/";
});
document.getElementById("login-username").focus();
