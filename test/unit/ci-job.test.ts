// Unit tests of the CI job recorded with each history entry: the documented services, read from
// their own variables; nothing for a bare `CI=true` or outside CI; long values cut.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ciJobOf } from '../../src/util/ci-job.ts';

void describe('ciJobOf', () => {
  void it('names the GitHub Actions run with its workflow, job and URL', () => {
    const env = { GITHUB_ACTIONS: 'true', GITHUB_WORKFLOW: 'deploy', GITHUB_JOB: 'migrate', GITHUB_RUN_ID: '8675309', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/app' };
    assert.deepEqual(ciJobOf(env), { service: 'GitHub Actions', job: 'deploy / migrate', id: '8675309', url: 'https://github.com/acme/app/actions/runs/8675309' });
  });

  void it('GitLab CI, CircleCI, Buildkite and Jenkins from their own variables; what a service leaves out is left out', () => {
    assert.deepEqual(ciJobOf({ GITLAB_CI: 'true', CI_JOB_ID: '42', CI_JOB_NAME: 'migrate', CI_JOB_URL: 'https://gitlab.example/j/42' }), { service: 'GitLab CI', job: 'migrate', id: '42', url: 'https://gitlab.example/j/42' });
    assert.deepEqual(ciJobOf({ CIRCLECI: 'true', CIRCLE_BUILD_NUM: '7' }), { service: 'CircleCI', id: '7' });
    assert.deepEqual(ciJobOf({ BUILDKITE: 'true', BUILDKITE_PIPELINE_SLUG: 'app', BUILDKITE_LABEL: ':database: migrate', BUILDKITE_BUILD_NUMBER: '9' }), { service: 'Buildkite', job: 'app / :database: migrate', id: '9' });
    assert.deepEqual(ciJobOf({ JENKINS_URL: 'https://ci/', BUILD_URL: 'https://ci/job/app/3/', JOB_NAME: 'app', BUILD_NUMBER: '3' }), { service: 'Jenkins', job: 'app', id: '3', url: 'https://ci/job/app/3/' });
  });

  void it('nothing outside those services, even with CI=true; long values are cut', () => {
    assert.equal(ciJobOf({}), undefined);
    assert.equal(ciJobOf({ CI: 'true' }), undefined);
    assert.equal(ciJobOf({ GITHUB_ACTIONS: 'false' }), undefined);
    assert.equal(ciJobOf({ JENKINS_URL: 'https://ci/' }), undefined, 'Jenkins needs the build URL');
    const job = ciJobOf({ GITLAB_CI: 'true', CI_JOB_NAME: 'x'.repeat(1000) })?.job ?? '';
    assert.equal(job.length, 300);
    assert.ok(job.endsWith('…'));
  });
});
