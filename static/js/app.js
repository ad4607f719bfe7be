// Times are rendered on the server in the zone the browser reports here (cookie `tz`).
(function () {
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var has = document.cookie.split("; ").some(function (c) { return c === "tz=" + encodeURIComponent(tz); });
    if (tz && !has) {
      document.cookie = "tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax";
      if (document.querySelector("time")) location.reload();
    }
  } catch (e) { /* no Intl: times stay in UTC, which the title says */ }
})();

// The CSRF token for scripts that POST (Django's cookie).
window.dockerweb = window.dockerweb || {};
window.dockerweb.csrf = function () {
  var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
};
