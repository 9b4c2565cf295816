/* intercom-identity: boots Intercom's web messenger from window.intercomSettings, shuts the
   previous user's session down first, and keeps a Messenger Security JWT fresh.
   A static file (cacheable) that {% intercom_messenger %} loads with the page's CSP nonce; the
   tag's inline bootstrap then calls window.intercomIdentityBoot with the page's config. */
window.intercomIdentityBoot = function (config) {
  "use strict";
  var w = window, d = document;
  var settings = w.intercomSettings || {};
  var storageKey = "intercom-identity-" + config.appId;
  var nonce = (d.currentScript && d.currentScript.nonce) || "";
  var refresh = config.refresh;
  var timer = null, busy = false, stopped = false, userId = null, expiresAt = 0, skew = 0;

  // window.Intercom is looked up on every call: the queue stub is replaced by the widget.
  function call() {
    if (typeof w.Intercom === "function") w.Intercom.apply(null, arguments);
  }

  // The identity the browser last booted with: an HMAC made by the server, never an id.
  function lastMarker() {
    try { return w.localStorage.getItem(storageKey); } catch (e) { return null; }
  }
  function rememberMarker(marker) {
    try { w.localStorage.setItem(storageKey, marker); } catch (e) { /* storage disabled */ }
  }

  // Intercom's session and visitor cookies (config.cookies), on the configured domain or on
  // this host and each parent domain (a browser ignores the domains that do not apply), so
  // that a widget that has not loaded yet cannot pick the previous user's session up.
  function expireCookies() {
    var labels = w.location.hostname.split(".");
    for (var n = 0; n < config.cookies.length; n++) {
      var cookie = config.cookies[n] + "=; path=/; max-age=0";
      if (config.cookieDomain) {
        d.cookie = cookie + "; domain=" + config.cookieDomain;
        continue;
      }
      d.cookie = cookie;
      for (var i = 0; i < labels.length - 1; i++) d.cookie = cookie + "; domain=" + labels.slice(i).join(".");
    }
  }

  function shutdown() {
    stopped = true;
    clearTimeout(timer);
    rememberMarker("");
    expireCookies();
    call("shutdown");
  }
  w.intercomIdentity = { shutdown: shutdown };

  // Boot. Leaving an identity (a user, then another user or a visitor) shuts the messenger
  // down first; a visitor who signs in keeps the visitor's conversations, as Intercom intends.
  var previous = lastMarker();
  var switched = !!previous && previous !== config.marker;
  rememberMarker(config.marker);
  if (typeof w.Intercom === "function") {
    if (switched) {
      call("shutdown");
      call("boot", settings);
    } else {
      call("reattach_activator");
      call("update", settings);
    }
  } else {
    // Intercom's documented loader: a stub queues the calls until the widget, loaded once the
    // page has, replays them.
    var stub = function () { stub.c(arguments); };
    stub.q = [];
    stub.c = function (args) { stub.q.push(args); };
    w.Intercom = stub;
    if (switched) {
      expireCookies();
      call("shutdown");
      call("boot", settings);
    }
    var load = function () {
      var script = d.createElement("script");
      script.async = true;
      script.src = "https://widget.intercom.io/widget/" + encodeURIComponent(config.appId);
      if (nonce) script.nonce = nonce;
      var first = d.getElementsByTagName("script")[0];
      first.parentNode.insertBefore(script, first);
    };
    if (d.readyState === "complete") load(); else w.addEventListener("load", load, false);
  }

  // JWT refresh: ask the JSON view for a fresh token after about three quarters of the
  // token's lifetime, for as long as the page is open; signed out (401) means shutdown.
  function claims(token) {
    try {
      return JSON.parse(w.atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    } catch (e) {
      return {};
    }
  }
  function remaining() {
    return expiresAt - (Date.now() / 1000 + skew);
  }
  function schedule(seconds) {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(fetchToken, Math.max(1, seconds) * 1000);
  }
  function fetchToken() {
    if (stopped || busy) return;
    busy = true;
    w.fetch(refresh.url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) return shutdown();
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json().then(function (body) {
          var token = body.intercom_user_jwt;
          if (!token) { stopped = true; return; } // no longer handed out: nothing to refresh
          var fresh = claims(token);
          if (fresh.user_id !== userId) return shutdown(); // someone else signed in meanwhile
          expiresAt = fresh.exp;
          call("update", { intercom_user_jwt: token });
          schedule(remaining() - refresh.lifetime / 4);
        });
      })
      .catch(function () { schedule(Math.min(30, refresh.lifetime / 4)); })
      .then(function () { busy = false; });
  }
  if (refresh && settings.intercom_user_jwt) {
    var first = claims(settings.intercom_user_jwt);
    userId = first.user_id;
    expiresAt = first.exp || 0;
    skew = refresh.now - Date.now() / 1000; // the server's clock, which signs exp, minus ours
    schedule(remaining() - refresh.lifetime / 4);
    // Timers sleep with the computer and are throttled in background tabs: catch up on return.
    d.addEventListener("visibilitychange", function () {
      if (d.visibilityState === "visible" && remaining() < refresh.lifetime / 4) fetchToken();
    });
  }
};
