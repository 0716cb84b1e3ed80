/* Announces calls one after the other: a gong (synthesised with Web Audio, no sound file) and,
   where enabled, the call spoken in each display language. Announcements queue; none overlaps or
   cuts off another. Shared by the waiting-room display and the phone status page. */
(function (global) {
  "use strict";

  var MAX_QUEUE = 8;          // more waiting announcements than this: the oldest are dropped
  var MAX_AGE_MS = 90000;     // an announcement that waited this long is no longer useful
  var LOCALES = { de: "de-DE", en: "en-GB" };

  function Announcer(options) {
    this.gong = options.gong !== false;
    this.speech = options.speech !== false && "speechSynthesis" in global;
    this.queue = [];
    this.busy = false;
    this.ctx = null;
    this.log = [];            // the last announcements, for tests and diagnostics (bounded)
  }

  Announcer.prototype.audio = function () {
    if (!this.ctx) {
      var Ctx = global.AudioContext || global.webkitAudioContext;
      if (!Ctx) return null;
      try { this.ctx = new Ctx(); } catch (e) { return null; }
    }
    return this.ctx;
  };

  /* True when the browser lets this page make sound without a click (autoplay policy). */
  Announcer.prototype.canPlay = function () {
    var ctx = this.audio();
    if (!ctx) return true;    // no Web Audio at all: nothing to unlock
    if (ctx.state !== "running" && ctx.resume) ctx.resume().catch(function () {});
    return ctx.state === "running";
  };

  /* Call from a click handler: the user gesture unlocks audio and speech for this page. */
  Announcer.prototype.unlock = function () {
    var ctx = this.audio();
    if (ctx && ctx.resume) ctx.resume().catch(function () {});
    if (this.speech) {
      var silent = new SpeechSynthesisUtterance(" ");
      silent.volume = 0;
      global.speechSynthesis.speak(silent);
    }
  };

  /* texts: [{lang: "de", text: "Nummer P 42, bitte zu Platz 3"}, ...] */
  Announcer.prototype.announce = function (texts) {
    this.queue.push({ texts: texts, at: Date.now() });
    while (this.queue.length > MAX_QUEUE) this.queue.shift();
    this.next();
  };

  Announcer.prototype.next = function () {
    if (this.busy) return;
    var now = Date.now();
    while (this.queue.length && now - this.queue[0].at > MAX_AGE_MS) this.queue.shift();
    var item = this.queue.shift();
    if (!item) return;
    this.busy = true;
    var self = this;
    this.record(item.texts);
    var steps = Promise.resolve();
    if (this.gong) steps = steps.then(function () { return self.playGong(); });
    if (this.speech) {
      item.texts.forEach(function (t) {
        steps = steps.then(function () { return self.say(t.text, t.lang); });
      });
    }
    steps.catch(function () {}).then(function () {
      self.busy = false;
      global.setTimeout(function () { self.next(); }, 400);
    });
  };

  Announcer.prototype.record = function (texts) {
    this.log.push({ at: Date.now(), texts: texts.map(function (t) { return t.text; }) });
    while (this.log.length > 20) this.log.shift();
  };

  /* Two soft bell tones (E5, C5): a few partials with an exponential decay. */
  Announcer.prototype.playGong = function () {
    var ctx = this.audio();
    if (!ctx || ctx.state !== "running") return Promise.resolve();
    var start = ctx.currentTime + 0.05;
    var master = ctx.createGain();
    master.gain.value = 0.35;
    master.connect(ctx.destination);
    [[659.25, 0], [523.25, 0.6]].forEach(function (note) {
      [[1, 1], [2.0, 0.35], [3.0, 0.15], [4.2, 0.08]].forEach(function (partial) {
        var osc = ctx.createOscillator();
        var gain = ctx.createGain();
        var t0 = start + note[1];
        osc.type = "sine";
        osc.frequency.value = note[0] * partial[0];
        gain.gain.setValueAtTime(0.0001, t0);
        gain.gain.exponentialRampToValueAtTime(partial[1], t0 + 0.015);
        gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 1.6);
        osc.connect(gain);
        gain.connect(master);
        osc.start(t0);
        osc.stop(t0 + 1.7);
        osc.onended = function () { osc.disconnect(); gain.disconnect(); };
      });
    });
    return new Promise(function (resolve) {
      global.setTimeout(function () { master.disconnect(); resolve(); }, 2300);
    });
  };

  Announcer.prototype.voiceFor = function (lang) {
    var voices = global.speechSynthesis.getVoices() || [];
    var wanted = LOCALES[lang] || lang;
    return voices.filter(function (v) { return v.lang === wanted; })[0] ||
      voices.filter(function (v) { return (v.lang || "").slice(0, 2) === lang; })[0] || null;
  };

  /* Speak one text; resolves when done (or after a watchdog, as some engines never report the end). */
  Announcer.prototype.say = function (text, lang) {
    var synth = global.speechSynthesis;
    var self = this;
    return new Promise(function (resolve) {
      var finished = false;
      var watchdog = null;
      function done() {
        if (finished) return;
        finished = true;
        global.clearTimeout(watchdog);
        resolve();
      }
      var utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = LOCALES[lang] || lang;
      var voice = self.voiceFor(lang);
      if (voice) utterance.voice = voice;
      utterance.rate = 0.9;
      utterance.onend = done;
      utterance.onerror = done;
      watchdog = global.setTimeout(function () {
        if (synth.speaking) synth.cancel();  // only ever our own, stuck utterance
        done();
      }, 4000 + text.length * 150);
      synth.speak(utterance);
    });
  };

  /* "P042" -> "P 42": the letter, then the number without leading zeros, read as a number. */
  Announcer.spokenNumber = function (number) {
    var match = /^([A-Za-z]*)0*(\d+)$/.exec(number || "");
    return match ? (match[1] ? match[1] + " " : "") + match[2] : number;
  };

  global.Announcer = Announcer;
})(window);
