// admin-section 55 /api/v1/pause-reasons
// Pause reasons: the organisation's list, in the order agents see it
// (GET/PUT /api/v1/pause-reasons, the whole list at once). Add, rename,
// remove and move; the API validates and its message is shown at the
// reason it names (field "reasons[1]"); nothing is saved then.
import { api, el, field, notice, onSubmit, t } from "../app.js";

const MAX = 50; // the API's limit

export async function render(root) {
  const r = await api("GET", "/api/v1/pause-reasons");
  if (!r.ok) { root.append(el("p", { class: "form-error", role: "alert" }, r.error.message)); return; }
  const id = "pausereasons";
  const list = el("ol", { id: id + "-list", class: "ranges" });
  const add = el("button", { type: "button", class: "secondary", id: id + "-add" }, "+ " + t("pausereasons.add"));
  const form = el("form", { id, class: "card stack", novalidate: true, "aria-labelledby": id + "-title" },
    el("h2", { id: id + "-title" }, t("pausereasons.list")),
    el("p", { class: "help", id: id + "-help" }, t("pausereasons.help")),
    list, el("div", { class: "actions" }, add, el("button", { type: "submit" }, t("form.save"))));
  root.append(form);

  const current = () => [...list.querySelectorAll("input")].map((i) => i.value);

  // draw shows the reasons; focus is "<index> <control>" to keep the
  // keyboard where it was after a move or removal.
  function draw(reasons, focus) {
    list.replaceChildren(...reasons.map((v, i) => {
      const f = field(id, { name: `reasons[${i}]`, label: t("pausereasons.reason", { n: i + 1 }), value: v });
      f.querySelector("input").setAttribute("aria-describedby", `${id}-help ${f.querySelector(".field-error").id}`);
      const name = v || t("pausereasons.reason", { n: i + 1 });
      const btn = (what, cls, disabled, fn) => el("button", { type: "button", class: "small " + cls, "data-do": what,
        "aria-label": `${t("pausereasons." + what)}: ${name}`, disabled, onclick: fn }, t("pausereasons." + what));
      return el("li", { "data-reason": v },
        f,
        el("div", { class: "actions" },
          btn("up", "secondary", i === 0, () => move(i, -1)),
          btn("down", "secondary", i === reasons.length - 1, () => move(i, 1)),
          btn("remove", "danger", false, () => {
            const rs = current();
            rs.splice(i, 1);
            draw(rs, rs.length ? `${Math.min(i, rs.length - 1)} input` : null);
            if (!rs.length) add.focus();
          })));
    }));
    add.disabled = reasons.length >= MAX;
    if (focus) {
      const [i, what] = focus.split(" ");
      const li = list.children[Number(i)];
      const c = li && (what === "input" ? li.querySelector("input") : li.querySelector(`[data-do="${what}"]`));
      if (c) (c.disabled ? li.querySelector("input") : c).focus();
    }
  }

  function move(i, by) {
    const rs = current();
    [rs[i], rs[i + by]] = [rs[i + by], rs[i]];
    draw(rs, `${i + by} ${by < 0 ? "up" : "down"}`);
  }

  add.addEventListener("click", () => {
    const rs = current();
    rs.push("");
    draw(rs, `${rs.length - 1} input`);
  });

  // The list is sent as typed: the API trims, and refuses an empty,
  // too long or repeated reason, naming it.
  onSubmit(form, () => api("PUT", "/api/v1/pause-reasons", { reasons: current() }), (res) => {
    draw(res.data.reasons);
    notice(form, t("form.saved"));
  });
  draw(r.data.reasons);
}
