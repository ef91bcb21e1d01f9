/**
 * The CI job a command runs in, where the environment says so, for the history's "who ran it".
 * A small documented set, read from each service's own variables (a library such as env-ci
 * covers more services but runs git to fill in what they leave out; this is read on every run):
 * GitHub Actions, GitLab CI, CircleCI, Buildkite and Jenkins. Anything else: undefined, even with
 * `CI` set (a bare `CI=true` names no job). Values are cut to a sensible length; a URL's
 * credentials are masked by the recorder like any text bound for a document.
 */
import type { CiJob } from '../types.ts';

const MAX_LENGTH = 300;

type Variables = Record<string, string | undefined>;

function value(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return text.length > MAX_LENGTH ? `${text.slice(0, MAX_LENGTH - 1)}…` : text;
}

function joined(...parts: (string | undefined)[]): string | undefined {
  const given = parts.filter((p): p is string => p !== undefined && p !== '');
  return given.length === 0 ? undefined : given.join(' / ');
}

function gitHubUrl(env: Variables): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: run } = env;
  return server !== undefined && repository !== undefined && run !== undefined ? `${server}/${repository}/actions/runs/${run}` : undefined;
}

/** Each service: whether it is the one running, and what it says about the job. */
type Read = Record<'job' | 'id' | 'url', string | undefined>;

const SERVICES: { service: string; detect: (env: Variables) => boolean; read: (env: Variables) => Read }[] = [
  {
    service: 'GitHub Actions',
    detect: (env) => env.GITHUB_ACTIONS === 'true',
    read: (env) => ({ job: joined(env.GITHUB_WORKFLOW, env.GITHUB_JOB), id: env.GITHUB_RUN_ID, url: gitHubUrl(env) }),
  },
  {
    service: 'GitLab CI',
    detect: (env) => env.GITLAB_CI !== undefined,
    read: (env) => ({ job: joined(env.CI_PROJECT_PATH, env.CI_JOB_NAME), id: env.CI_JOB_ID, url: env.CI_JOB_URL }),
  },
  {
    service: 'CircleCI',
    detect: (env) => env.CIRCLECI === 'true',
    read: (env) => ({ job: joined(env.CIRCLE_PROJECT_REPONAME, env.CIRCLE_JOB), id: env.CIRCLE_BUILD_NUM, url: env.CIRCLE_BUILD_URL }),
  },
  {
    service: 'Buildkite',
    detect: (env) => env.BUILDKITE === 'true',
    read: (env) => ({ job: joined(env.BUILDKITE_PIPELINE_SLUG, env.BUILDKITE_LABEL), id: env.BUILDKITE_BUILD_NUMBER, url: env.BUILDKITE_BUILD_URL }),
  },
  {
    service: 'Jenkins',
    detect: (env) => env.JENKINS_URL !== undefined && env.BUILD_URL !== undefined,
    read: (env) => ({ job: env.JOB_NAME, id: env.BUILD_NUMBER, url: env.BUILD_URL }),
  },
];

/** The CI job the environment variables name, or undefined outside the services above. */
export function ciJobOf(env: Variables): CiJob | undefined {
  const found = SERVICES.find((s) => s.detect(env));
  if (found === undefined) return undefined;
  const read = found.read(env);
  const job: CiJob = { service: found.service };
  for (const key of ['job', 'id', 'url'] as const) {
    const given = value(read[key]);
    if (given !== undefined) job[key] = given;
  }
  return job;
}
