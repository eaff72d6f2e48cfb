import { describe, expect, it } from 'vitest';
import { applyExports } from './esp-kit.js';

describe('the esp-kit environment (install.sh output)', () => {
  it('applies quoted and bare exports, expands $VAR, and unsets', () => {
    const env = applyExports([
      'export PATH="/kit/bin:$PATH"',
      'export HIL_QEMU="/kit/qemu"',
      'export IDF_PYTHON_CHECK_CONSTRAINTS=no',
      'unset PYTHONPATH PYTHONHOME',
    ].join('\n'), { PATH: '/usr/bin', PYTHONPATH: '/x', KEEP: '1' });
    expect(env).toEqual({ PATH: '/kit/bin:/usr/bin', HIL_QEMU: '/kit/qemu', IDF_PYTHON_CHECK_CONSTRAINTS: 'no', KEEP: '1' });
  });
});
