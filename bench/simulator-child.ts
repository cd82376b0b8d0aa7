// The benchmark's camera simulator, run in its own Node process so that its CPU and memory are
// never counted as the recorder's (nor as the baseline's). With `loop` it serves a pre-encoded clip
// (bench:record); without, the live test pattern with its burned-in time code (bench:live). Prints
// one JSON line with the cameras' main stream URLs once they listen, and closes when stdin ends (the
// parent exited) or on SIGTERM.
import { Simulator } from '../server/src/simulator/simulator.ts';
import { silentLogger } from '../server/src/shared/logger.ts';

export interface SimulatorChildConfig {
  cameras: number;
  firstAddress: string;
  onvifBasePort: number;
  rtspBasePort: number;
  discoveryPort: number;
  username: string;
  password: string;
  /** A pre-encoded clip to loop; absent: live encoding, each frame carrying its capture time. */
  loop?: string;
}

export interface SimulatorChildReady {
  ready: true;
  main: string[];
}

const config = JSON.parse(process.argv[2] ?? '{}') as SimulatorChildConfig;
const sim = await Simulator.start({ ...config, audio: 'aac', log: silentLogger() });

let closing = false;
const shutdown = async (): Promise<void> => {
  if (closing) return;
  closing = true;
  await sim.close().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
process.stdin.on('end', () => void shutdown());
process.stdin.on('close', () => void shutdown());
process.stdin.resume();

const ready: SimulatorChildReady = { ready: true, main: sim.info.map((c) => c.rtsp.main) };
process.stdout.write(`${JSON.stringify(ready)}\n`);
