// Liandong console: the one script, served from this site (no CDN). Every page works without
// it; it only keeps the coordinator's escalation feed live and suggests units while typing.
(function () {
  "use strict";

  function poll(feed) {
    fetch(feed.getAttribute("data-feed"), { credentials: "same-origin" })
      .then(function (answer) {
        // A redirect means the session ended: leave the list as it is, the next click signs in.
        if (!answer.ok || answer.redirected) { throw new Error(String(answer.status)); }
        return answer.text();
      })
      .then(function (html) { feed.innerHTML = html; })
      .catch(function () { /* the next poll tries again */ });
  }

  var feed = document.querySelector("[data-feed]");
  if (feed) {
    setInterval(function () { poll(feed); }, 5000);
  }

  var box = document.querySelector("[data-unit-suggestions]");
  var list = box && document.getElementById(box.getAttribute("list"));
  var timer = null;
  if (box && list) {
    box.addEventListener("input", function () {
      clearTimeout(timer);
      var typed = box.value.trim();
      if (typed.length < 2) { return; }
      timer = setTimeout(function () {
        var url = box.getAttribute("data-unit-suggestions") + "?q=" + encodeURIComponent(typed);
        fetch(url, { credentials: "same-origin" })
          .then(function (answer) { return answer.ok ? answer.json() : []; })
          .then(function (units) {
            list.textContent = "";
            units.forEach(function (unit) {
              var option = document.createElement("option");
              option.value = unit.code;
              option.textContent = unit.name;
              list.appendChild(option);
            });
          })
          .catch(function () { /* suggestions are a convenience */ });
      }, 200);
    });
  }
})();
