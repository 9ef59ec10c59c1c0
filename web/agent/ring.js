// Ringer plays the incoming-call tone with WebAudio: 425 Hz (the Danish
// ringing tone), one second on, two off, until stopped. Browsers only let
// a page make sound after a user gesture, so unlock() is called on the
// first click or key press (logging in, pressing Ready).
export class Ringer {
  constructor() {
    this.ctx = null;
    this.timer = 0;
    this.nodes = [];
  }

  unlock() {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return;
    if (!this.ctx) this.ctx = new AC();
    if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
  }

  start() {
    if (this.timer) return;
    this.unlock();
    const burst = () => this.burst();
    burst();
    this.timer = setInterval(burst, 3000);
  }

  burst() {
    const ctx = this.ctx;
    if (!ctx) return;
    const t0 = ctx.currentTime + 0.01;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 425;
    gain.gain.setValueAtTime(0, t0);
    gain.gain.linearRampToValueAtTime(0.25, t0 + 0.02);
    gain.gain.setValueAtTime(0.25, t0 + 0.98);
    gain.gain.linearRampToValueAtTime(0, t0 + 1.0);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0);
    osc.stop(t0 + 1.01);
    this.nodes.push(osc);
    osc.onended = () => { this.nodes = this.nodes.filter((n) => n !== osc); };
  }

  get ringing() { return this.timer !== 0; }

  stop() {
    clearInterval(this.timer);
    this.timer = 0;
    for (const n of this.nodes) { try { n.stop(); } catch { /* already stopped */ } }
    this.nodes = [];
  }
}
