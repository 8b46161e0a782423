// Keeps History and Job overview live from /stream, and drives the stop confirmation dialog.
"use strict";

const liveState = () => document.getElementById("live-state");
// The console may live under a path of a reverse proxy: every URL is built from this base.
const meta = (name) => (document.querySelector(`meta[name="${name}"]`) || {}).content || "";
const base = meta("syncctl-base") || "/";

// `view`: what this page shows, for the server to send only that (see /stream in app.py).
function connect(view, onChange, onNew) {
  const source = new EventSource(`${base}stream?${view}`);
  source.onopen = () => { liveState().textContent = "Live"; };
  source.onerror = () => { liveState().textContent = "Reconnecting…"; };
  source.onmessage = (message) => onChange(JSON.parse(message.data));
  if (onNew) source.addEventListener("new", (message) => onNew(JSON.parse(message.data)));
  // The server ends the feed when the login ends (logout, expiry, a removed or changed user).
  source.addEventListener("ended", (message) => {
    source.close();
    liveState().textContent = JSON.parse(message.data).reason;
  });
}

function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}

// × once cancelled, ✓ once completed: a symbol for the eye, its text for screen readers.
function setMark(element, mark) {
  if (!element) return;
  element.hidden = !mark;
  setText(element, mark ? mark.symbol : "");
  element.setAttribute("aria-label", mark ? mark.text : "");
}

// A moment in the viewer's own time zone and in UTC: "5 Dec 2026, 02:00 (Europe/Paris) · 2026-12-05 01:00 UTC".
const viewerZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
const utcText = (date) => `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
function bothZones(date) {
  const local = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(date);
  return `${local} (${viewerZone()}) · ${utcText(date)}`;
}

// -- History -------------------------------------------------------------------------------
function historyPage(table) {
  const canAct = table.dataset.canAct === "true"; // an operator: rows have a checkbox
  if (canAct) bulkControls(table);
  const body = table.tBodies[0];

  function render(job, row) {
    row.dataset.status = job.status;
    const status = row.querySelector('[data-field="status_label"] .status');
    status.className = `status status-${job.status.toLowerCase()}`;
    setText(status.querySelector(".status-text"), job.status_label);
    setMark(status.querySelector(".mark"), job.mark);
    for (const field of ["mode", "stage", "progress", "asked_by"]) {
      setText(row.querySelector(`[data-field="${field}"]`), job[field]);
    }
    const time = row.querySelector('[data-field="last_change"] time');
    time.dateTime = job.last_change_at;
    setText(time, job.last_change);
  }

  // The stream sends the rows on this page as they change; other jobs that change and match
  // the filter are only counted, on the first page ("3 new jobs · Show").
  // A URL stays under 8 KB (what servers and proxies take): long job ids on a long page are
  // followed by more than one stream; only the first counts new jobs.
  const chunks = [[]];
  let length = 0;
  for (const id of [...body.rows].map((row) => row.dataset.job)) {
    if (length + id.length > 6000) { chunks.push([]); length = 0; }
    chunks[chunks.length - 1].push(id);
    length += id.length + 3;
  }
  const newJobs = document.getElementById("new-jobs");
  const onChange = (change) => {
    const jobId = change.type === "job" ? change.job.job_id : change.job_id;
    const row = body.querySelector(`tr[data-job="${CSS.escape(jobId || "")}"]`);
    if (!row) return;
    if (change.type === "job") render(change.job, row);
    if (change.type === "gone") {
      row.classList.add("gone");
      setText(row.querySelector(".status-text"), "Removed");
    }
  };
  const onNew = (news) => {
    newJobs.hidden = news.count === 0;
    const count = `${news.count.toLocaleString("en")}${news.more ? "+" : ""}`;
    setText(document.getElementById("new-count"), `${count} new ${news.count === 1 ? "job" : "jobs"}`);
  };
  chunks.forEach((ids, number) => {
    const view = new URLSearchParams(table.dataset.filter);
    view.set("ids", ids.join(","));
    const counts = number === 0 && table.dataset.firstPage === "true";
    if (counts) view.set("first", "1");
    connect(view.toString(), onChange, counts ? onNew : null);
  });
}

// History's bulk actions: one command per selected job, or per job of the whole filter,
// after a confirmation.
function bulkControls(table) {
  const form = document.getElementById("bulk");
  const apply = document.getElementById("bulk-apply");
  const all = document.getElementById("bulk-all");
  const note = document.getElementById("bulk-note");
  const dialog = document.getElementById("bulk-confirm");
  const texts = JSON.parse(document.getElementById("action-texts").textContent);
  const picked = () => [...table.querySelectorAll(".pick-job:checked")].map((box) => box.value);
  const refresh = () => {
    const count = picked().length;
    setText(document.getElementById("bulk-count"), String(count));
    apply.disabled = count === 0;
  };
  table.addEventListener("change", (event) => {
    if (event.target.classList.contains("pick-job")) refresh();
  });
  let opener = apply;

  function ask(title, filterText) {
    const key = document.getElementById("bulk-action").value;
    const action = texts[key];
    document.getElementById("bulk-title").textContent = title(action);
    document.getElementById("bulk-explains").textContent = action.explains;
    const filter = document.getElementById("bulk-filter");
    filter.textContent = filterText || "";
    filter.hidden = !filterText;
    const warning = document.getElementById("bulk-warning");
    warning.textContent = action.warning;
    warning.hidden = !action.warning;
    const ok = document.getElementById("bulk-ok");
    ok.textContent = action.label;
    ok.className = action.danger ? "danger" : "primary";
    dialog.dataset.chosen = key;
    dialog.showModal();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    opener = apply;
    dialog.dataset.scope = "picked";
    ask((action) => `${action.label} ${picked().length} job(s)?`);
  });
  if (all) all.addEventListener("click", () => {
    opener = all;
    dialog.dataset.scope = "all";
    const count = Number(all.dataset.expected).toLocaleString("en");
    const terms = JSON.parse(all.dataset.terms);
    ask((action) => `${action.label} all ${count} matching jobs?`,
      `Jobs matching ${terms.join(", ")}, as they are when you confirm: if that is no longer ` +
      `${count} jobs, nothing is sent. A job it does not apply to refuses it (its timeline says why).`);
  });

  dialog.addEventListener("close", async () => {
    const confirmed = dialog.returnValue === "confirm";
    dialog.returnValue = "";
    opener.focus();
    if (!confirmed) return;
    setText(note, "Sending…");
    const request = dialog.dataset.scope === "all"
      ? { selector: JSON.parse(all.dataset.terms), expected: Number(all.dataset.expected) }
      : { job_ids: picked() };
    const response = await fetch(`${base}bulk/${dialog.dataset.chosen}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": meta("csrf-token") },
      body: JSON.stringify(request),
    });
    const body = await response.json().catch(() => ({}));
    if (body.sent === undefined) {
      setText(note, body.error || `The request failed (${response.status}).`);
      return;
    }
    const refused = Object.entries(body.refused || {}).map(([job, why]) => `${job} (${why})`);
    const sent = `Sent to ${Object.keys(body.sent).length.toLocaleString("en")} job(s)`;
    const shown = refused.slice(0, 5).join(", ") + (refused.length > 5 ? ` and ${refused.length - 5} more` : "");
    setText(note, `${sent}${refused.length ? `; not sent to ${shown}` : ""}. ` +
      "Rows update as the worker answers; a refusal shows in the job's timeline.");
    for (const box of table.querySelectorAll(".pick-job:checked")) box.checked = false;
    refresh();
  });
}

// -- Job overview --------------------------------------------------------------------------
function jobPage(section) {
  const jobId = section.dataset.job;
  const textsElement = document.getElementById("action-texts"); // absent: this user may not stop it
  const texts = textsElement ? JSON.parse(textsElement.textContent) : {};
  const scheduleTexts = document.getElementById("schedule-texts");
  if (scheduleTexts) texts["schedule-complete-cdc"] = JSON.parse(scheduleTexts.textContent);
  const scheduleForm = document.getElementById("schedule");
  const scheduleInput = document.getElementById("schedule-at");
  let scheduleAt = null; // the ISO time the open dialog would schedule
  const dialog = document.getElementById("confirm");
  const note = document.getElementById("action-note");
  const error = document.getElementById("action-error");
  const timeline = document.getElementById("timeline");
  let opener = null;
  let pending = null; // command_id of the command this page sent, until it is answered
  // Answers seen on the stream, by command_id: the stream can bring a command's answer before
  // the POST that sent it has returned its command_id (the worker is that quick).
  const answered = new Map();
  let lastJob = null; // the job as last rendered

  function showError(text) {
    error.textContent = text;
    error.hidden = false;
  }

  function renderJob(job) {
    lastJob = job;
    const status = document.getElementById("job-status");
    status.className = `status status-${job.status.toLowerCase()}`;
    setText(status, job.status_label);
    setMark(document.getElementById("job-mark"), job.mark);
    setText(document.getElementById("job-stage"), job.stage);
    setText(document.getElementById("job-asked-by"), job.asked_by);
    const time = document.querySelector("#job-last-change time");
    time.dateTime = job.last_change_at;
    setText(time, job.last_change);
    document.getElementById("job-scheduled-fact").hidden = !job.scheduled;
    showSchedule(job.scheduled_at, job.scheduled_by, job.scheduled);
    if (scheduleForm) {
      scheduleForm.hidden = !job.may_schedule;
      setText(document.getElementById("schedule-submit"), job.scheduled_at ? "Move schedule" : "Schedule");
    }
    const reason = document.getElementById("job-reason");
    reason.hidden = !job.reason;
    setText(reason, job.reason || "");
    for (const stage of job.stages) {
      const item = document.querySelector(`#stages [data-stage="${stage.name}"]`);
      if (!item) continue;
      item.className = `stage stage-${stage.state.toLowerCase()}`;
      setText(item.querySelector('[data-field="label"]'), stage.label);
      setText(item.querySelector('[data-field="progress"]'), stage.progress);
    }
    for (const button of document.querySelectorAll("button[data-action]")) {
      const applies = job.actions.includes(button.dataset.action);
      if (!applies && document.activeElement === button) document.getElementById("job-status").focus();
      button.hidden = !applies;
    }
    if (!note) return;
    if (job.stopping || job.changing) {
      pending = null; // accepted: no rejection will come
      setText(note, `${job.status_label}: waiting for the engine to confirm (up to a minute).`);
    } else if (!job.final && pending === null) {
      setText(note, ""); // confirmed (or undone at the deadline): the status says which
    }
    if (job.final) setText(note, job.status === "FAILED" ? "" : `Stopped: ${job.status_label}.`);
  }

  function showSchedule(at, by, fallback) {
    const text = at ? `Complete CDC at ${bothZones(new Date(at))}${by ? ` (by ${by})` : ""}` : fallback || "";
    setText(document.getElementById("job-scheduled"), text);
  }

  function addEvent(event) {
    const empty = timeline.querySelector(".empty");
    if (empty) empty.remove();
    const item = document.createElement("li");
    item.className = `event event-${event.kind}`;
    const time = document.createElement("time");
    time.dateTime = event.at;
    time.textContent = event.time;
    item.append(time, ` ${event.text}`);
    timeline.append(item);
    if (event.command_id && event.kind !== "drain") {
      answered.set(event.command_id, event);
      if (answered.size > 100) answered.delete(answered.keys().next().value);
    }
    if (pending && event.command_id === pending) settle(event);
  }

  function settle(event) {
    if (event.kind === "status") {
      pending = null; // accepted, and already shown: the note follows the job again
      if (lastJob) renderJob(lastJob);
    } else if (event.kind === "schedule") {
      pending = null; // accepted: the Scheduled fact shows the time
      setText(note, `Done: ${event.text}.`);
    } else if (event.kind === "rejected") {
      pending = null;
      setText(note, "");
      showError(`Not stopped: ${event.reason}`);
    }
  }

  function confirmAction(key, from, explains) {
    const action = texts[key];
    opener = from;
    dialog.dataset.chosen = key;
    document.getElementById("confirm-title").textContent = action.title;
    document.getElementById("confirm-explains").textContent = explains || action.explains;
    const warning = document.getElementById("confirm-no-resume");
    warning.textContent = action.warning;
    warning.hidden = !action.warning;
    document.getElementById("confirm-ok").className = action.danger ? "danger" : "primary";
    document.getElementById("confirm-ok").textContent = action.label;
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  }

  if (scheduleForm) {
    setText(document.getElementById("schedule-zone"), `(your time, ${viewerZone()})`);
    const chosen = () => (scheduleInput.value ? new Date(scheduleInput.value) : null);
    scheduleInput.addEventListener("input", () => {
      const date = chosen();
      setText(document.getElementById("schedule-utc"), date && !isNaN(date) ? `= ${utcText(date)}` : "");
    });
    scheduleForm.addEventListener("submit", (event) => {
      event.preventDefault();
      error.hidden = true;
      const date = chosen();
      if (!date || isNaN(date) || date <= new Date()) {
        showError("Choose a time to come for Complete CDC.");
        return;
      }
      scheduleAt = date.toISOString();
      confirmAction("schedule-complete-cdc", document.getElementById("schedule-submit"),
        `At ${bothZones(date)}: ${texts["schedule-complete-cdc"].explains}`);
    });
  }

  for (const button of document.querySelectorAll("button[data-action]")) {
    button.addEventListener("click", () => {
      confirmAction(button.dataset.action, button);
    });
  }

  if (dialog) dialog.addEventListener("close", async () => {
    const confirmed = dialog.returnValue === "confirm";
    dialog.returnValue = "";
    // Back to where the operator was, or to the status when that button is gone.
    (opener && !opener.hidden ? opener : document.getElementById("job-status")).focus();
    if (!confirmed) return;
    error.hidden = true;
    setText(note, "Sending the request…");
    const scheduling = dialog.dataset.chosen === "schedule-complete-cdc";
    const response = await fetch(`${base}jobs/${encodeURIComponent(jobId)}/${dialog.dataset.chosen}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": meta("csrf-token"), "Content-Type": "application/json" },
      body: scheduling ? JSON.stringify({ at: scheduleAt }) : "",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      setText(note, "");
      const expired = response.status === 401 ? "Your login has expired: reload the page to log in again." : "";
      showError(expired || body.error || `The request failed (${response.status}).`);
      return;
    }
    pending = body.command_id;
    setText(note, "Requested; waiting for the worker…");
    if (answered.has(pending)) settle(answered.get(pending));
  });

  const fact = document.getElementById("job-scheduled");
  if (fact.dataset.at) showSchedule(fact.dataset.at, fact.dataset.by, fact.textContent);

  connect(`job=${encodeURIComponent(jobId)}`, (change) => {
    if (change.type === "job" && change.job.job_id === jobId) renderJob(change.job);
    if (change.type === "event" && change.event.job_id === jobId) addEvent(change.event);
  });
}

// "Last change" reads "12 s ago": keep such times true while the page stays open (the same
// wording as the server's, src/syncctl/cli/render.py `when`).
function relative(iso) {
  const seconds = Math.floor((Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.max(seconds, 0)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return new Date(iso).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

function refreshRelativeTimes() {
  for (const time of document.querySelectorAll('[data-field="last_change"] time, #job-last-change time')) {
    if (time.dateTime) setText(time, relative(time.dateTime));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setInterval(refreshRelativeTimes, 5000);
  const history = document.getElementById("history");
  if (history) historyPage(history);
  const job = document.getElementById("job");
  if (job) jobPage(job);
  // Other signed-in pages show the live state too; the login page has none to show.
  if (!history && !job && liveState()) connect("ids=", () => {});
});
