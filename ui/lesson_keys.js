// Lesson keys: next / previous / reveal from the keyboard, including the PageDown / PageUp that presentation
// clickers send. One listener on the page document (a v2 component runs in the page, not in an iframe), added on
// the first mount and removed on unmount; each rerun only hands it the newest setTriggerValue.
//
// data (JSON): {"enabled": bool}. Trigger sent: "action" = "next" | "previous" | "reveal".
// Keys inside text fields, sliders, tabs or a focused latent plane (it nudges z with the arrows) are left to them.

const NEXT = new Set(["PageDown", "ArrowRight", "n", "N"]);
const PREVIOUS = new Set(["PageUp", "ArrowLeft", "p", "P"]);
const REVEAL = new Set(["r", "R", "."]);
const ARROWS = new Set(["ArrowRight", "ArrowLeft"]);

function ownedByAWidget(target) {
  if (!target || target === document.body || target === document.documentElement) return false;
  if (target.isContentEditable) return true;
  const tag = (target.tagName || "").toLowerCase();
  if (tag === "input" || tag === "textarea" || tag === "select") return true;
  const role = target.getAttribute && target.getAttribute("role");
  if (role === "slider" || role === "tab" || role === "spinbutton" || role === "combobox" || role === "listbox")
    return true;
  return false;
}

const LISTENER = { send: null, enabled: true, count: 0 };

function onKey(e) {
  if (!LISTENER.enabled || !LISTENER.send || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
  if (ownedByAWidget(e.target)) return;
  // a focused plane (tabIndex 0, not a button) keeps the arrows for nudging z
  const t = e.target;
  if (ARROWS.has(e.key) && t && t !== document.body && t.tabIndex >= 0 && (t.tagName || "").toLowerCase() !== "button")
    return;
  let action = null;
  if (NEXT.has(e.key)) action = "next";
  else if (PREVIOUS.has(e.key)) action = "previous";
  else if (REVEAL.has(e.key)) action = "reveal";
  if (!action) return;
  e.preventDefault();
  LISTENER.count += 1;
  window.__lessonKeys = { last: action, count: LISTENER.count };
  LISTENER.send("action", action);
}

export default function (component) {
  const { data, setTriggerValue } = component;
  LISTENER.send = setTriggerValue;
  LISTENER.enabled = !(data && data.enabled === false);
  if (!LISTENER.attached) {
    document.addEventListener("keydown", onKey);
    LISTENER.attached = true;
  }
  window.__lessonKeys = window.__lessonKeys || { last: null, count: 0, attached: true };
  return () => {
    document.removeEventListener("keydown", onKey);
    LISTENER.attached = false;
    LISTENER.send = null;
  };
}
