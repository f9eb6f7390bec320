// Real OpenSSH servers for tests. The implementation lives in src/sandbox/sshd-process.ts because the sandbox
// starts the same servers; tests import it from here so there is one fixture, not two that drift apart.
export {
  SSHD,
  generateUserKey,
  startSshd,
  type SshdLogKind,
  type SshdLogSource,
  type SshdOptions,
  type SshdProcess,
} from '../../src/sandbox/sshd-process.ts';
