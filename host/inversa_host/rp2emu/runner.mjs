// runner.mjs: one emulated Raspberry Pi Pico (rp2040js) driven in lock-step by
// Python (inversa_host.rp2emu).  Node runs the CPU; Python owns the world.
//
//   node runner.mjs --uf2 RPI_PICO.uf2 --bootrom bootrom.bin [--fs fs.img]
//                   [--i2c-pins 4,5] [--flash-writes [--erase-ms 45] [--program-ms 0.4]]
//
// Protocol: JSON lines, Python -> Node on stdin, Node -> Python on stdout.
// Everything is synchronous (fs.readSync/writeSync): Node never runs its event
// loop, so emulated time only moves while Python asks it to, and a run is the
// same whatever the host's speed.
//
// Python -> Node
//   {"op":"run","until_us":T,"in":{"gpio":level,...},"tx":"hex","present":[addr,...]}
//       drive those input pins, queue `tx` for the USB CDC (host -> board),
//       set which I2C addresses answer a scan, then run until emulated time T;
//       optional "host_reads": false = the host keeps the port open but stops
//       reading (it NAKs the board's USB IN packets: they stay armed in the
//       board's endpoint buffer), true = reads again
//   {"op":"quit"}
// Node -> Python, while running (an I2C transfer reaches a device):
//   {"e":"c","a":addr,"r":0|1,"t":us}  address phase; reply {"ack":bool,"d":"hex"}
//                                      (d: the first bytes a read returns)
//   {"e":"m","a":addr,"t":us}          a read wants more bytes; reply {"d":"hex"}
//   {"e":"w","a":addr,"d":"hex","t":us} bytes written in one transfer (no reply)
// Node -> Python, when the slice ends:
//   {"e":"done","t":us,"out":{"gpio":value,...},"rx":"hex","feeds":[us,...],
//    "xfers":[us,...],"wdt_fired":n,"resets":n,"cdc":bool}
//   out: for each watched output pin, 0/1 (GPIO) or the PWM duty 0..65535;
//   rx: bytes the board wrote to the USB CDC; feeds: emulated times of the
//   watchdog LOAD writes (feeds); xfers: emulated times of I2C START conditions;
//   wdt_fired: times the watchdog's timer ran out; resets: chip resets so far
//   (the watchdog firing, or machine.reset()); the chip boots again from its
//   flash, so what the firmware wrote there survives.
//
// What emulated time is: the RP2040 timer, driven by the cycles rp2040js
// charges each instruction at 125 MHz (see docs/ARCHITECTURE.md).  XIP flash
// cache misses, bus contention and wait states are not modelled.
import fs from 'node:fs';
import { Simulator, USBCDC, ConsoleLogger, LogLevel, GPIOPinState, I2CMode } from 'rp2040js';

const FLASH_BASE = 0x10000000;
const FS_OFFSET = 0xa0000; // RPI_PICO: the last 1408 KiB of the 2 MiB flash
const FS_BYTES = 1408 * 1024;
const WATCHDOG_BASE = 0x40058;
const WDT_LOAD = 0x04;
const WDT_REASON_TIMER = 1; // REASON: bit 0 the timer ran out, bit 1 forced
const R_TX_EMPTY = 1 << 4;

function die(msg) {
  process.stderr.write(`rp2emu: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opt = { i2cPins: [4, 5], outPins: [], flashWrites: false, eraseMs: 45, programMs: 0.4 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--uf2') opt.uf2 = v();
    else if (a === '--bootrom') opt.bootrom = v();
    else if (a === '--fs') opt.fs = v();
    else if (a === '--i2c-pins') opt.i2cPins = v().split(',').map(Number);
    else if (a === '--out-pins') opt.outPins = v().split(',').filter((s) => s).map(Number);
    else if (a === '--pwm-pins') opt.pwmPins = v().split(',').filter((s) => s).map(Number);
    else if (a === '--flash-writes') opt.flashWrites = true;
    else if (a === '--erase-ms') opt.eraseMs = Number(v());
    else if (a === '--program-ms') opt.programMs = Number(v());
    else die(`unknown option ${a}`);
  }
  if (!opt.uf2 || !opt.bootrom) die('--uf2 and --bootrom are required');
  opt.pwmPins = opt.pwmPins || [];
  return opt;
}

// ------------------------------------------------------------ stdio (blocking)
const inBuf = Buffer.alloc(1 << 16);
let pending = '';
function readLine() {
  for (;;) {
    const nl = pending.indexOf('\n');
    if (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      return line;
    }
    let n;
    try {
      n = fs.readSync(0, inBuf, 0, inBuf.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN') continue; // a non-blocking pipe: try again
      if (e.code === 'EOF') return null;
      throw e;
    }
    if (n === 0) return null; // Python went away
    pending += inBuf.toString('latin1', 0, n);
  }
}
function send(obj) {
  const s = JSON.stringify(obj) + '\n';
  let off = 0;
  const b = Buffer.from(s, 'latin1');
  while (off < b.length) {
    try {
      off += fs.writeSync(1, b, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}
function request(obj) {
  send(obj);
  const line = readLine();
  if (line === null) process.exit(0);
  return JSON.parse(line);
}

// ------------------------------------------------------------ loading
function loadBootrom(mcu, file) {
  const b = fs.readFileSync(file);
  if (b.length !== 16384) die(`${file}: ${b.length} bytes; an RP2040 boot ROM has 16384`);
  const words = new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + 16384));
  mcu.loadBootrom(words); // resets the core and erases the flash: first
}

function loadUf2(mcu, file) {
  const d = fs.readFileSync(file);
  let blocks = 0;
  for (let off = 0; off + 512 <= d.length; off += 512) {
    const magicOk = d.readUInt32LE(off) === 0x0a324655 && d.readUInt32LE(off + 4) === 0x9e5d5157;
    if (!magicOk) die(`${file}: block ${off / 512} is not a UF2 block`);
    const flags = d.readUInt32LE(off + 8);
    const addr = d.readUInt32LE(off + 12);
    const size = d.readUInt32LE(off + 16);
    if (flags & 1) continue; // not for the main flash
    if (flags & 0x2000 && d.readUInt32LE(off + 28) !== 0xe48bff56) continue; // another chip family
    mcu.flash.set(d.subarray(off + 32, off + 32 + size), addr - FLASH_BASE);
    blocks++;
  }
  if (!blocks) die(`${file}: no RP2040 blocks`);
}

// ------------------------------------------------------------ flash writes
// rp2040js ignores the SPI flash's program/erase commands.  The boot ROM's
// flash_range_erase ('RE') and flash_range_program ('RP') entries are replaced
// by breakpoints that do the work on mcu.flash (NOR: erase to 0xFF, program
// ANDs), charged W25Q16JV times: typical by default (4 KB sector erase 45 ms,
// 256 B page program 0.4 ms; the datasheet's maxima are 400 and 3 ms),
// or what --erase-ms / --program-ms say.  flashOps: the emulated time each
// erase/program began (the bench names the pauses and periods they stall).
const flashOps = [];
function enableFlashWrites(mcu) {
  const rom = mcu.bootrom;
  const half = (a) => (rom[a >>> 2] >>> ((a & 2) * 8)) & 0xffff;
  const setHalf = (a, v) => {
    const sh = (a & 2) * 8;
    rom[a >>> 2] = ((rom[a >>> 2] & ~(0xffff << sh)) | (v << sh)) >>> 0;
  };
  const table = {};
  for (let p = half(0x14); half(p) !== 0; p += 4) {
    const code = half(p);
    table[String.fromCharCode(code & 0xff, code >> 8)] = half(p + 2) & ~1;
  }
  const erase = table.RE;
  const program = table.RP;
  if (erase === undefined || program === undefined) die('boot ROM: no flash_range_erase/program');
  setHalf(erase, 0xbe00 | 0xe5);
  setHalf(program, 0xbe00 | 0xf5);
  mcu.onBreak = (code) => {
    const core = mcu.core;
    const r = core.registers;
    const at = (core.PC - 2) & ~1;
    if (code === 0xe5 || code === 0xf5) flashOps.push(nowUs());
    if (code === 0xe5 && at === erase) {
      const offs = r[0] >>> 0;
      const count = r[1] >>> 0;
      mcu.flash.fill(0xff, offs, offs + count);
      mcu.clock.tick(Math.ceil(count / 4096) * opt.eraseMs * 1e6);
    } else if (code === 0xf5 && at === program) {
      const offs = r[0] >>> 0;
      const src = r[1] >>> 0;
      const count = r[2] >>> 0;
      for (let i = 0; i < count; i++) mcu.flash[offs + i] &= mcu.readUint8(src + i);
      mcu.clock.tick(Math.ceil(count / 256) * opt.programMs * 1e6);
    } else {
      die(`unexpected breakpoint 0x${code.toString(16)} at 0x${at.toString(16)}`);
    }
    core.PC = core.LR & ~1;
  };
}

// ------------------------------------------------------------ the board
// A chip reset (the watchdog firing, or machine.reset(), which MicroPython's
// rp2 port does through the watchdog) makes a new chip: rp2040js has no
// reset of its peripherals.  What survives, as on a Pico: the flash, the
// time, the levels on the input pins, the watchdog's REASON register (so
// machine.reset_cause() says why) and the devices on the I2C bus (Python's).
// The USB goes away and enumerates again; bytes in flight are lost.
const opt = parseArgs(process.argv.slice(2));
let mcu = null;
let clock = null;
let baseNs = 0; // emulated time at the last reset
const nowUs = () => Math.floor((baseNs + clock.nanos) / 1000);
let resets = 0;
let resetReason = -1; // >= 0: a reset is due (set by the watchdog)
const inputLevels = new Map();

// --- USB CDC: bytes both ways; the OUT endpoint is held (a real host NAKs)
// until there is something to send, instead of rp2040js's empty packets.
let cdc = null;
let cdcUp = false;
const txQueue = []; // host -> board
let rxChunks = []; // board -> host
let origRead = null;
let heldRead = null;
// A host that keeps the port open but stops reading NAKs the CDC data IN
// endpoint: the packet the board armed stays in its buffer, AVAILABLE and
// FULL still set in the buffer control register (rp2040js clears them at
// once, as if the host took it), no buffer-done status, nothing delivered;
// all of it happens when the host reads again.
const BUF_CTRL_IN = 0x80; // DPRAM: EPn IN buffer control at 0x80 + 8 n
const BUF_AVAILABLE = 1 << 10;
const BUF_FULL = 1 << 15;
let hostReads = true;
const heldIn = []; // {ep, data}: data is null until rp2040js hands it over
let usbReady = null;
let cdcWrite = null;
function attachCdc() {
  cdc = new USBCDC(mcu.usbCtrl);
  cdcUp = false;
  heldRead = null;
  heldIn.length = 0;
  txQueue.length = 0;
  cdc.onDeviceConnected = () => {
    cdcUp = true;
  };
  cdc.onSerialData = (buf) => {
    rxChunks.push(Buffer.from(buf));
  };
  origRead = mcu.usbCtrl.onEndpointRead;
  mcu.usbCtrl.onEndpointRead = (ep, size) => {
    if (ep === cdc.outEndpoint && cdc.txFIFO.empty) {
      heldRead = [ep, size];
      return;
    }
    origRead(ep, size);
  };
  const usb = mcu.usbCtrl;
  const dp = mcu.usbDPRAMView;
  usbReady = usb.indicateBufferReady.bind(usb);
  usb.indicateBufferReady = (ep, out) => {
    if (!hostReads && !out && ep === cdc.inEndpoint) {
      const reg = BUF_CTRL_IN + 8 * ep;
      dp.setUint32(reg, (dp.getUint32(reg, true) | BUF_AVAILABLE | BUF_FULL) >>> 0, true);
      heldIn.push({ ep, data: null });
      return;
    }
    usbReady(ep, out);
  };
  cdcWrite = usb.onEndpointWrite;
  usb.onEndpointWrite = (ep, buf) => {
    if (ep === cdc.inEndpoint) {
      const h = heldIn.find((x) => x.data === null);
      if (h) {
        h.data = buf;
        return;
      }
    }
    cdcWrite(ep, buf);
  };
}
function pumpCdc() {
  while (txQueue.length && !cdc.txFIFO.full) cdc.sendSerialByte(txQueue.shift());
  if (heldRead && !cdc.txFIFO.empty) {
    const [ep, size] = heldRead;
    heldRead = null;
    origRead(ep, size);
  }
}
function setHostReads(on) {
  hostReads = on;
  if (!on) return;
  const dp = mcu.usbDPRAMView;
  for (const h of heldIn.splice(0)) {
    const reg = BUF_CTRL_IN + 8 * h.ep;
    dp.setUint32(reg, (dp.getUint32(reg, true) & ~(BUF_AVAILABLE | BUF_FULL)) >>> 0, true);
    if (h.data) cdcWrite(h.ep, h.data);
    usbReady(h.ep, false);
  }
}

// --- watchdog: record every feed (LOAD write) and every time it fires
// (its timer ran out: the firmware hung); either trigger resets the chip.
const feeds = [];
let wdtFired = 0;
function attachWatchdog(reason) {
  const wdt = mcu.peripherals[WATCHDOG_BASE];
  if (reason >= 0) wdt.reason = reason;
  const wdtWrite = wdt.writeUint32.bind(wdt);
  wdt.writeUint32 = (offset, value) => {
    if (offset === WDT_LOAD) feeds.push(nowUs());
    wdtWrite(offset, value);
  };
  wdt.onWatchdogTrigger = () => {
    if (wdt.reason === WDT_REASON_TIMER) wdtFired++;
    resetReason = wdt.reason;
    // Stop its timer: rp2040js re-arms a run-out watchdog 0 ns later, so
    // clock.tick() would fire it forever before runUntil() could reset the
    // chip (a run hung there when the watchdog first ran out).
    wdt.alarm.enable = false;
  };
}

// --- I2C0: each transfer is forwarded to Python's register-level models.
const xfers = [];
let cur = null; // {addr, read, buf: [] (writes) | data: Buffer, pos}
function attachI2c() {
  const i2c = mcu.i2c[0];
  cur = null;
  const bitNs = () => ((i2c.sclHighPeriod + i2c.sclLowPeriod) * 1e9) / mcu.clkSys;
  const later = (bits, fn) => clock.createAlarm(fn).schedule(bits * bitNs());
  function flushWrite() {
    if (cur && !cur.read && cur.buf.length) {
      send({ e: 'w', a: cur.addr, d: Buffer.from(cur.buf).toString('hex'), t: nowUs() });
    }
    cur = null;
  }
  i2c.onStart = (repeated) => {
    if (!repeated) xfers.push(nowUs());
    flushWrite();
    later(0.5, () => i2c.completeStart());
  };
  i2c.onConnect = (addr, mode) => {
    const read = mode === I2CMode.Read;
    const reply = request({ e: 'c', a: addr, r: read ? 1 : 0, t: nowUs() });
    const ack = !!reply.ack;
    cur = ack ? { addr, read, buf: [], data: Buffer.from(reply.d || '', 'hex'), pos: 0 } : null;
    later(9, () => {
      i2c.completeConnect(ack);
      if (!ack) i2c.setInterrupts(R_TX_EMPTY); // else the SDK waits for its timeout
    });
  };
  i2c.onWriteByte = (b) => {
    if (cur) cur.buf.push(b);
    later(9, () => i2c.completeWrite(!!cur));
  };
  i2c.onReadByte = () => {
    let v = 0xff;
    if (cur) {
      if (cur.pos >= cur.data.length) {
        const reply = request({ e: 'm', a: cur.addr, t: nowUs() });
        cur.data = Buffer.from(reply.d || '', 'hex');
        cur.pos = 0;
      }
      if (cur.pos < cur.data.length) v = cur.data[cur.pos++];
    }
    later(9, () => i2c.completeRead(v));
  };
  i2c.onStop = () => {
    flushWrite();
    later(0.5, () => i2c.completeStop());
  };
}

// --- machine.I2C.scan() and the STOP after a failed transfer are bit-banged
// by the rp2 port on the SDA/SCL GPIOs: model the open-drain bus (pull-ups,
// wired AND) and ACK the addresses Python says are present.
let present = new Set();
function busOnPins(sdaN, sclN) {
  const sda = mcu.gpio[sdaN];
  const scl = mcu.gpio[sclN];
  let sclHi = true;
  let sdaHi = true;
  let nbits = -1; // -1: idle; 0..8: bits of the current byte; 9: in the ACK slot
  let byte = 0;
  let selected = false;
  let pullSda = false; // the device holds SDA low (ACK)
  const low = (pin) => pin.value === GPIOPinState.Low;
  const update = () => {
    const scl2 = !low(scl);
    const sda2 = !(low(sda) || pullSda);
    if (sclHi && scl2 && sdaHi && !sda2) {
      nbits = 0; // START
      byte = 0;
      selected = false;
    } else if (sclHi && scl2 && !sdaHi && sda2) {
      nbits = -1; // STOP
      pullSda = false;
    } else if (!sclHi && scl2 && nbits >= 0 && nbits < 8) {
      byte = (byte << 1) | (sda2 ? 1 : 0);
      nbits++;
    } else if (sclHi && !scl2 && nbits === 8) {
      if (!selected) selected = (byte & 1) === 0 && present.has(byte >> 1);
      pullSda = selected;
      nbits = 9;
    } else if (sclHi && !scl2 && nbits === 9) {
      pullSda = false;
      nbits = 0;
      byte = 0;
    }
    sclHi = scl2;
    sdaHi = !(low(sda) || pullSda);
    sda.setInputValue(sdaHi);
    scl.setInputValue(sclHi);
  };
  sda.addListener(update);
  scl.addListener(update);
  update();
}
// --- a chip: boot ROM, flash (the image, or what survived a reset), hooks
function boot(flash, reason) {
  const sim = new Simulator();
  mcu = sim.rp2040;
  mcu.logger = new ConsoleLogger(LogLevel.Error);
  loadBootrom(mcu, opt.bootrom); // erases the flash: first
  if (flash) {
    mcu.flash.set(flash);
  } else {
    loadUf2(mcu, opt.uf2);
    if (opt.fs) {
      const img = fs.readFileSync(opt.fs);
      if (img.length > FS_BYTES) die(`${opt.fs}: ${img.length} bytes; the filesystem holds ${FS_BYTES}`);
      mcu.flash.set(img, FS_OFFSET);
    }
  }
  if (opt.flashWrites) enableFlashWrites(mcu);
  mcu.core.PC = FLASH_BASE; // boot2 first, as on the chip after the boot ROM
  clock = mcu.clock;
  attachCdc();
  attachWatchdog(reason);
  attachI2c();
  busOnPins(opt.i2cPins[0], opt.i2cPins[1]);
  for (const [p, v] of inputLevels) mcu.gpio[p].setInputValue(!!v);
}
function setInput(pin, level) {
  inputLevels.set(pin, level);
  mcu.gpio[pin].setInputValue(!!level);
}
function resetChip() {
  const flash = Uint8Array.from(mcu.flash);
  baseNs += clock.nanos;
  const reason = resetReason;
  resetReason = -1;
  resets++;
  boot(flash, reason);
}
boot(null, -1);

// --- outputs the world reads back.
function pwmDuty(pin) {
  const ch = mcu.pwm.channels[(pin >> 1) & 7];
  const level = pin & 1 ? ch.cc >>> 16 : ch.cc & 0xffff;
  const enabled = !!(ch.csr & 1);
  if (!enabled) return 0;
  return Math.min(65535, Math.round((level / (ch.top + 1)) * 65535));
}
function outputs() {
  const out = {};
  for (const p of opt.outPins) out[p] = mcu.gpio[p].value === GPIOPinState.High ? 1 : 0;
  for (const p of opt.pwmPins) {
    if (mcu.gpio[p].functionSelect === 4) out[p] = pwmDuty(p);
    else out[p] = mcu.gpio[p].value === GPIOPinState.High ? 65535 : 0;
  }
  return out;
}

// --- the CPU: instructions charged in cycles at the system clock; while the
// core sleeps (WFI/WFE), time jumps to the next alarm.
function runUntil(untilUs) {
  const until = untilUs * 1000;
  let n = 0;
  while (baseNs + clock.nanos < until) {
    const core = mcu.core;
    if (core.waiting) {
      const dt = Math.min(clock.nanosToNextAlarm, until - baseNs - clock.nanos);
      if (dt <= 0) break;
      clock.tick(dt);
    } else {
      clock.tick(core.executeInstruction() * (1e9 / mcu.clkSys));
    }
    if (resetReason >= 0) resetChip();
    if (++n === 2000) {
      n = 0;
      pumpCdc();
    }
  }
  pumpCdc();
}

for (;;) {
  const line = readLine();
  if (line === null) break;
  const msg = JSON.parse(line);
  if (msg.op === 'quit') break;
  if (msg.op !== 'run') die(`unknown op ${msg.op}`);
  if (msg.in) for (const [p, v] of Object.entries(msg.in)) setInput(Number(p), v);
  if (msg.present) present = new Set(msg.present);
  if (msg.host_reads !== undefined) setHostReads(!!msg.host_reads);
  if (msg.tx) for (const b of Buffer.from(msg.tx, 'hex')) txQueue.push(b);
  runUntil(msg.until_us);
  const rx = Buffer.concat(rxChunks);
  rxChunks = [];
  send({
    e: 'done',
    t: nowUs(),
    out: outputs(),
    rx: rx.toString('hex'),
    feeds: feeds.splice(0),
    xfers: xfers.splice(0),
    flash: flashOps.splice(0),
    wdt_fired: wdtFired,
    resets,
    cdc: cdcUp,
  });
}
process.exit(0);
