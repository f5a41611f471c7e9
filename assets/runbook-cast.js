// runbook's replay of command blocks in the course book. `runbook mdbook` puts, after a
// command's output, an element holding what the last run printed and when (asciicast events:
// [seconds, text]); this script gives each one a button that replays the command and its
// output on a small screen at the pace it really came, pauses shortened to two seconds.
// Text is only ever set as text, never as markup. `#runbook-play-all` in the address plays
// every replay of the page at once.
(function () {
  "use strict";

  const LONGEST_PAUSE = 2.0;

  function replay(holder, screen, button) {
    let events;
    try {
      events = JSON.parse(holder.dataset.cast);
    } catch (error) {
      screen.textContent = "this replay cannot be read: " + error;
      return;
    }
    screen.hidden = false;
    screen.textContent = "";
    button.disabled = true;
    holder.dataset.state = "playing";
    let clock = 0;
    let previous = 0;
    events.forEach(function (event, index) {
      const at = Number(event[0]) || 0;
      clock += Math.min(Math.max(at - previous, 0), LONGEST_PAUSE);
      previous = at;
      setTimeout(function () {
        screen.textContent += String(event[1]).replace(/\r\n/g, "\n");
        screen.scrollTop = screen.scrollHeight;
        if (index === events.length - 1) {
          holder.dataset.state = "played";
          button.disabled = false;
        }
      }, clock * 1000);
    });
  }

  function prepare(holder) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "runbook-cast-play";
    button.textContent =
      "\u25B6 Replay " + (holder.dataset.title || "") + " (" + (holder.dataset.seconds || "?") + " s)";
    const screen = document.createElement("pre");
    screen.className = "runbook-cast-screen";
    screen.hidden = true;
    button.addEventListener("click", function () {
      replay(holder, screen, button);
    });
    holder.append(button, screen);
    return button;
  }

  function start() {
    const buttons = Array.from(document.querySelectorAll(".runbook-cast")).map(prepare);
    if (window.location.hash === "#runbook-play-all") {
      buttons.forEach(function (button) {
        button.click();
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
