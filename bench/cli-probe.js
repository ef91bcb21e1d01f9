// Preloaded (`node --import ./bench/cli-probe.js ...`) into the CLI processes bench/cases/cli.ts
// times, mongrate's and migrate-mongo's alike. At exit it writes to BENCH_PROBE_OUT the process's
// own CPU time; with BENCH_COUNT_COMMANDS=1 also every command its MongoClients sent (driver
// command monitoring: name, target collection, BSON bytes, duration) and the bytes of the replies. Counting runs are never the timed ones:
// monitoring decodes every reply, which costs the client CPU.
import { writeFileSync } from 'node:fs';

const out = process.env.BENCH_PROBE_OUT;
const commands = [];
let bytesReceived = 0;

if (process.env.BENCH_COUNT_COMMANDS === '1') {
  // the same module instance the CLI gets: one node_modules/mongodb for the bench, mongrate and migrate-mongo
  const { BSON, MongoClient } = await import('mongodb');
  const connect = MongoClient.prototype.connect;
  const watched = new WeakSet();
  MongoClient.prototype.connect = function (...args) {
    if (!watched.has(this)) {
      watched.add(this);
      this.monitorCommands = true;
      this.on('commandStarted', (event) => {
        const target = event.command[event.commandName];
        commands.push({ name: event.commandName, collection: typeof target === 'string' ? target : '', bytes: BSON.calculateObjectSize(event.command), requestId: event.requestId, ms: 0 });
      });
      const done = (event) => {
        const command = commands.find((c) => c.requestId === event.requestId);
        if (command !== undefined) command.ms = event.duration;
      };
      this.on('commandSucceeded', (event) => {
        bytesReceived += event.reply === undefined ? 0 : BSON.calculateObjectSize(event.reply);
        done(event);
      });
      this.on('commandFailed', done);
    }
    return connect.apply(this, args);
  };
}

process.on('exit', () => {
  if (out === undefined || out === '') return;
  const cpu = process.cpuUsage();
  writeFileSync(out, JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, commands, bytesReceived }));
});
