/**
 * The server's `hello`, asked once per client. Connecting asks it (it proves the server answers),
 * and what a run reads of it afterwards comes from that one reply: whether commands take a comment
 * (capabilities.ts `takesComments`), the topology, wire version and hosts the server probe reads,
 * and the first sample of the server's clock (clock.ts). A start-up used to send a `ping` and four
 * `hello`s for those; the facts do not change under a connection, the clock's drift is bounded by
 * the sample's age, so one reply serves them all.
 */
import type { Document, MongoClient } from 'mongodb';
import { helloOrIsMaster, localTimeOf, SYSTEM_TIME_SOURCES, type TimedReading } from './clock.ts';

export interface Greeting {
  /** The `hello` reply (`isMaster`'s where the server refuses `hello`, as Azure Cosmos DB RU does). */
  reply: Document;
  /** The server's `localTime` with the local instants around it; undefined when the reply has none. */
  reading: TimedReading | undefined;
}

const greetings = new WeakMap<MongoClient, Promise<Greeting>>();

/** The reply and the clock sample it carries, with the local instants around it. */
async function greet(client: MongoClient): Promise<Greeting> {
  const sources = SYSTEM_TIME_SOURCES;
  const sentMonotonicMs = sources.monotonicMs();
  const sentSinceBootMs = sources.sinceBootMs();
  const reply = await helloOrIsMaster(client.db('admin'));
  const receivedMonotonicMs = sources.monotonicMs();
  const serverTime = localTimeOf(reply.localTime);
  return { reply, reading: serverTime === undefined ? undefined : { serverTime, sentMonotonicMs, receivedMonotonicMs, sentSinceBootMs } };
}

/** The client's greeting: asked on first use, then remembered for the client's life; a failed one is asked again next time. */
export function greetingOf(client: MongoClient): Promise<Greeting> {
  let greeting = greetings.get(client);
  if (greeting === undefined) {
    greeting = greet(client);
    greetings.set(client, greeting);
    greeting.catch(() => greetings.delete(client));
  }
  return greeting;
}
