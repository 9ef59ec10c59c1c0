// /admin/<section>: loads the section's module, which fills #section-body.
import { el, t } from "./app.js";

const section = document.body.dataset.section;
const body = document.getElementById("section-body");
try {
  const mod = await import(`./admin/${section}.js`);
  body.replaceChildren();
  await mod.render(body);
  body.dataset.ready = "1";
} catch (e) {
  body.replaceChildren(el("p", { class: "form-error", role: "alert" }, t("error.internal")));
  throw e;
}
