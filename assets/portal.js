// mlat portal: the only script, and nothing depends on it. It shows the
// progress of an evidence upload, and the retention risk of an identifier
// as it is typed; without it the forms post as any other, and the request
// form shows the risk when it is shown again.
"use strict";

function showStatus(form, text) {
  const status = form.querySelector(".upload-status");
  if (status) status.textContent = text;
}

function upload(form) {
  const progress = form.querySelector("progress");
  const button = form.querySelector("button[type=submit]");
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable) return;
    const percent = Math.floor((event.loaded / event.total) * 100);
    progress.value = percent;
    showStatus(form, `Sent ${percent}%`);
  });
  request.upload.addEventListener("load", () => {
    showStatus(form, "Sent. Checking and recording the file…");
  });
  request.addEventListener("load", () => {
    // Received: the server sent the browser on to the request page.
    if (request.responseURL.includes("?done=")) {
      // The redirect's fragment does not reach the script: add it back.
      window.location.assign(`${request.responseURL.split("#")[0]}#evidence`);
      return;
    }
    // Refused: show the page the server answered with, as a post would.
    const page = new DOMParser().parseFromString(request.responseText, "text/html");
    const main = page.querySelector("main");
    if (main) {
      document.querySelector("main").replaceWith(document.adoptNode(main));
      document.title = page.title;
      const problem = document.querySelector("[role=alert]");
      if (problem) problem.scrollIntoView();
    } else {
      showStatus(form, `The upload failed (${request.status}). Reload the page and try again.`);
      button.disabled = false;
    }
  });
  request.addEventListener("error", () => {
    showStatus(form, "The connection failed: nothing was received. Try again.");
    button.disabled = false;
    progress.hidden = true;
  });
  progress.hidden = false;
  progress.value = 0;
  button.disabled = true;
  showStatus(form, "Sending…");
  request.send(new FormData(form));
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-upload")) return;
  if (typeof XMLHttpRequest === "undefined" || typeof FormData === "undefined") return;
  event.preventDefault();
  upload(form);
});

// The server says what the responder's retention means for an identifier
// (one rule, `domain::deadlines::retention_end`); this only asks it sooner.
function showRisk(form, row) {
  const observed = row.querySelector("[data-observed]");
  const risk = row.querySelector("[data-risk]");
  const responder = form.querySelector("input[name=responder_id]");
  if (!observed || !risk || !responder) return;
  const categories = Array.from(form.querySelectorAll("[data-category]:checked"))
    .map((box) => box.name.replace("category.", ""))
    .join(",");
  const query = new URLSearchParams({
    responder: responder.value,
    observed_at: observed.value.trim(),
    categories,
  });
  // Answers can arrive out of order: only the row's latest question counts.
  const asked = String(Number(row.dataset.asked || "0") + 1);
  row.dataset.asked = asked;
  const request = new XMLHttpRequest();
  request.open("GET", `/retention?${query}`);
  request.responseType = "json";
  request.addEventListener("load", () => {
    if (row.dataset.asked !== asked) return;
    if (request.status !== 200 || !request.response) return;
    risk.textContent = request.response.text;
    risk.classList.toggle("past", request.response.past === true);
  });
  request.send();
}

document.querySelectorAll("form[data-retention]").forEach((form) => {
  const rows = () => form.querySelectorAll("[data-row]");
  form.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("[data-observed]")) {
      showRisk(form, target.closest("[data-row]"));
    } else if (target.matches("[data-category]")) {
      rows().forEach((row) => showRisk(form, row));
    }
  });
});
