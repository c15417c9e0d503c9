/** Daemon configuration: flags > env > config.json > defaults, validated once, errors naming field, source and value. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDaemonConfig } from '../src/daemon/config.js';
import { rotateIfLarge } from '../src/daemon/rotate.js';
import { daemonCommand, resolveLocation } from '../src/location/home.js';
import { checkSocketPath } from '../src/location/socket-path.js';
import { tempDir } from './helpers.js';

describe('daemon configuration', () => {
  it('takes flags over env over config.json over defaults', () => {
    const home = tempDir();
    writeFileSync(
      join(home, 'config.json'),
      JSON.stringify({ idleTimeout: 10, maxMemoryMB: 100, logLevel: 'warn', recipePath: ['r'] }),
    );
    const env = { PODKEEPER_HOME: home, PODKEEPER_IDLE_TIMEOUT: '20', PODKEEPER_MAX_MEMORY_MB: '200' };
    const config = loadDaemonConfig({ idleTimeout: '30' }, env);
    expect(config).toMatchObject({
      home,
      socket: join(home, 'podkeeper.sock'),
      idleTimeout: 30,
      maxMemoryMB: 200,
      logLevel: 'warn',
      recipePath: [join(home, 'r')],
      shutdownGrace: 10,
    });
  });

  it('names the field, where the value came from, and the value', () => {
    const home = tempDir();
    expect(() => loadDaemonConfig({ home, idleTimeout: '-5' }, {})).toThrow(
      /`idleTimeout` \(from --idle-timeout\) .*got -5/,
    );
    expect(() => loadDaemonConfig({ home }, { PODKEEPER_MAX_MEMORY_MB: 'lots' })).toThrow(
      /`maxMemoryMB` \(from env PODKEEPER_MAX_MEMORY_MB\) .*got "lots"/,
    );
    writeFileSync(join(home, 'config.json'), JSON.stringify({ shutdownGrace: 'long' }));
    expect(() => loadDaemonConfig({ home }, {})).toThrow(
      /`shutdownGrace` \(from .*config\.json\) .*got "long"/,
    );
    writeFileSync(join(home, 'config.json'), JSON.stringify({ idleTimout: 5 }));
    expect(() => loadDaemonConfig({ home }, {})).toThrow(/unknown field `idleTimout`/);
    writeFileSync(join(home, 'config.json'), JSON.stringify({ home: '/elsewhere' }));
    expect(() => loadDaemonConfig({ home }, {})).toThrow(/`home` cannot be set/);
    writeFileSync(join(home, 'config.json'), '{not json');
    expect(() => loadDaemonConfig({ home }, {})).toThrow(/config\.json is not valid JSON/);
  });

  it('finds the socket the way the daemon does, and says how to start one there', () => {
    const home = tempDir();
    expect(resolveLocation({ home }, {})).toEqual({ home, socket: join(home, 'podkeeper.sock') });
    expect(resolveLocation({}, { PODKEEPER_HOME: home, PODKEEPER_SOCKET: '/tmp/x.sock' }).socket).toBe(
      '/tmp/x.sock',
    );
    writeFileSync(join(home, 'config.json'), JSON.stringify({ socket: 'run/pk.sock' }));
    expect(resolveLocation({ home }, {}).socket).toBe(join(home, 'run', 'pk.sock'));
    expect(daemonCommand({ home, socket: '/tmp/other.sock' })).toBe(
      `podkeeper daemon --home ${home} --socket /tmp/other.sock`,
    );
  });

  it('refuses a socket path longer than sun_path, naming a shorter place', () => {
    expect(() => checkSocketPath(`/tmp/${'x'.repeat(110)}.sock`)).toThrow(/at most 10[37] bytes.*--socket/);
    expect(() => checkSocketPath('/tmp/short.sock')).not.toThrow();
  });

  it('rotates daemon.log by size, keeping a few', () => {
    const dir = tempDir();
    const file = join(dir, 'daemon.log');
    for (let i = 1; i <= 4; i++) {
      writeFileSync(file, `generation ${i}\n`.repeat(100));
      expect(rotateIfLarge(file, 100, 3)).toBe(true);
    }
    writeFileSync(file, 'small');
    expect(rotateIfLarge(file, 100, 3)).toBe(false);
    expect(readFileSync(`${file}.1`, 'utf8')).toMatch(/^generation 4/);
    expect(readFileSync(`${file}.3`, 'utf8')).toMatch(/^generation 2/);
    expect(existsSync(`${file}.4`)).toBe(false);
  });
});
