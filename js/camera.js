// The webcam: one shared stream, a camera chooser, and steady-rate capture while a button is held.

export class Camera {
  constructor(video) {
    this.video = video;
    this.stream = null;
    this.deviceId = '';
  }

  get on() { return !!this.stream; }

  async start(deviceId = this.deviceId) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error('This browser offers no camera access here (camera needs https or localhost).');
    }
    this.stop();
    const video = { width: { ideal: 640 }, height: { ideal: 480 } };
    if (deviceId) video.deviceId = { exact: deviceId };
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    } catch (err) {
      throw new Error(`Cannot open the camera: ${err.name === 'NotAllowedError' ? 'permission denied' : err.message || err.name}`);
    }
    const track = this.stream.getVideoTracks()[0];
    this.deviceId = (track && track.getSettings().deviceId) || deviceId || '';
    this.video.srcObject = this.stream;
    this.video.hidden = false;
    await this.video.play();
    if (!this.video.videoWidth) await new Promise((r) => this.video.addEventListener('loadeddata', r, { once: true }));
  }

  stop() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    this.video.srcObject = null;
    this.video.hidden = true;
  }

  /** devices lists the video inputs (labels appear once permission is granted). */
  async devices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
    const all = await navigator.mediaDevices.enumerateDevices();
    return all.filter((d) => d.kind === 'videoinput');
  }

  /**
   * hold captures frames at `rate` per second while the returned stop function is not called:
   * onFrame(video) is called on a steady clock, never faster than it completes.
   */
  hold(rate, onFrame) {
    let stopped = false;
    let busy = false;
    const period = 1000 / Math.max(1, Math.min(30, rate));
    const tick = async () => {
      if (stopped || busy || !this.on) return;
      busy = true;
      try { await onFrame(this.video); } finally { busy = false; }
    };
    tick();
    const timer = setInterval(tick, period);
    return () => { stopped = true; clearInterval(timer); };
  }
}
