import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/main.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAX_COLUMNS = 100;

/** The help a terminal of `width` columns shows for `cmd`, including text added after it (examples). */
function helpAt(cmd: Command, width: number): string {
  let out = '';
  cmd.configureHelp({ helpWidth: width });
  cmd.configureOutput({ writeOut: (s) => (out += s), getOutHelpWidth: () => width });
  cmd.outputHelp();
  return out;
}

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

const tooWide = (text: string) => text.split('\n').filter((l) => l.length > MAX_COLUMNS);

describe('divd --help', () => {
  it('every line of `divd --help` fits in 100 columns and names every command', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(tooWide(r.stdout), []);
    for (const cmd of buildProgram().commands) assert.match(r.stdout, new RegExp(`^  ${cmd.name()}\\b`, 'm'), cmd.name());
  });

  it('every command has a one-line summary, and the command list takes one line per command at 80 columns', () => {
    const program = buildProgram();
    for (const cmd of program.commands) {
      const summary = cmd.summary();
      assert.ok(summary.length > 0, `${cmd.name()} has a summary`);
      assert.ok(!summary.includes('\n'), `${cmd.name()}'s summary is one line`);
      assert.notEqual(summary, cmd.description(), `${cmd.name()}: the long description stays for divd ${cmd.name()} --help`);
    }
    const help = helpAt(program, 80);
    const list = help.slice(help.indexOf('Commands:\n') + 'Commands:\n'.length).trimEnd().split('\n');
    // +1: commander's own `help [command]` entry.
    assert.equal(list.length, program.commands.length + 1, `no summary wraps:\n${list.join('\n')}`);
  });

  it('descriptions wrap at the terminal, not at newlines written into them', () => {
    for (const cmd of buildProgram().commands) {
      assert.ok(!cmd.description().includes('\n'), `divd ${cmd.name()}: description has a newline`);
      for (const o of cmd.options) assert.ok(!o.description.includes('\n'), `divd ${cmd.name()} ${o.flags}: description has a newline`);
    }
  });

  it('the help of every command and subcommand fits in 100 columns, its examples included', () => {
    for (const cmd of allCommands(buildProgram())) assert.deepEqual(tooWide(helpAt(cmd, 80)), [], `divd ${cmd.name()} --help`);
  });
});
