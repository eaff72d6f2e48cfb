#!/usr/bin/env python3
"""Makes a local mirror of the ESP Component Registry from component sources, for offline builds.

    component_mirror.py <components dir> <mirror dir>

<components dir> holds component sources laid out `<namespace>__<name>-<version>/` (the esp-kit's
components.tar.xz: espressif__esp-tflite-micro-1.3.5/, espressif__esp-nn-1.1.2/, ...). The mirror
has the layout of a registry storage (what `compote registry sync` writes and what the component
manager reads through IDF_COMPONENT_STORAGE_URL=file://<mirror dir>):

    components/<namespace>/<name>.json    every version found: version, component_hash, url,
                                          dependencies (from the version's idf_component.yml)
    archives/<namespace>__<name>-<version>.tgz

firmware/CMakeLists.txt runs it with ESP-IDF's Python when HIL_COMPONENTS_DIR is set, so main's
idf_component.yml stays the registry manifest online users have. Standard library and PyYAML only
(PyYAML is a dependency of idf-component-manager, so every ESP-IDF Python environment has it).

component_hash is computed as idf-component-manager's hash_dir does (sha256 over the sorted
relative paths, each followed by the sha256 hex of its file), over exactly the files put in the
archive: a managed component unpacked from it then validates against its `.component_hash`.
Archives are rewritten only when a component's hash changes.
"""
import hashlib
import io
import json
import os
import re
import sys
import tarfile
from pathlib import Path, PurePosixPath

import yaml

FOLDER = re.compile(r'^([a-z0-9_.-]+)__([a-z0-9_-]+?)-(\d+\.\d+\.\d+(?:[-~+][0-9A-Za-z.~+-]*)?)$')

# What the registry never ships (idf_component_tools/file_tools.py DEFAULT_EXCLUDE, by name).
EXCLUDED_DIRS = {'__pycache__', '.git', '.svn', 'dist', 'build', 'managed_components', '.github',
                 '.idea', '.vscode', '.settings'}
EXCLUDED_FILES = {'.DS_Store', 'dependencies.lock', '.gitlab-ci.yml', 'sdkconfig', 'sdkconfig.old',
                  '.component_hash'}
EXCLUDED_SUFFIXES = ('.pyc', '.pyd', '.pyo')


def fail(message):
    sys.stderr.write('component_mirror: %s\n' % message)
    sys.exit(1)


def read_manifest(folder):
    path = folder / 'idf_component.yml'
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8')) or {}
    except yaml.YAMLError as e:
        fail('%s is not valid YAML: %s' % (path, e))
    if not isinstance(data, dict):
        fail('%s is not a mapping' % path)
    return data


def manifest_excludes(manifest):
    files = manifest.get('files') or {}
    return [str(p).strip('/') for p in (files.get('exclude') or [])]


def excluded(rel, patterns):
    parts = rel.parts
    if any(p in EXCLUDED_DIRS for p in parts[:-1]) or parts[-1] in EXCLUDED_FILES:
        return True
    if rel.name.endswith(EXCLUDED_SUFFIXES) or parts[-1] in EXCLUDED_DIRS:
        return True
    # A manifest `files.exclude` pattern drops the matching path and everything below it.
    for pattern in patterns:
        for depth in range(1, len(parts) + 1):
            if PurePosixPath(*parts[:depth]).match(pattern) and len(PurePosixPath(pattern).parts) == depth:
                return True
    return False


def component_files(folder, patterns):
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in files:
            full = Path(root) / name
            rel = PurePosixPath(full.relative_to(folder).as_posix())
            if full.is_file() and not excluded(rel, patterns):
                out.append((rel.as_posix(), full))
    out.sort(key=lambda item: item[0])
    return out


def file_sha256(path):
    sha = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(65536), b''):
            sha.update(block)
    return sha.hexdigest()


def component_hash(files):
    sha = hashlib.sha256()
    for rel, full in files:
        sha.update(rel.encode('utf-8'))
        sha.update(file_sha256(full).encode('utf-8'))
    return sha.hexdigest()


def dependencies(manifest, where):
    out = []
    for key, value in (manifest.get('dependencies') or {}).items():
        spec = value if isinstance(value, str) else (value or {}).get('version', '*')
        if not isinstance(spec, str):
            fail('%s: dependency %s has no version string' % (where, key))
        if isinstance(value, dict) and ('path' in value or 'override_path' in value or 'git' in value):
            fail('%s: dependency %s is not a registry dependency (path/git): a mirror cannot serve it' % (where, key))
        if key == 'idf':
            out.append({'name': 'idf', 'namespace': None, 'spec': spec, 'source': 'idf',
                        'is_public': False, 'require': 'private'})
            continue
        namespace, _, name = key.partition('/')
        if not name:
            namespace, name = 'espressif', key
        dep = {'name': name, 'namespace': namespace, 'spec': spec, 'source': 'service',
               'is_public': bool(isinstance(value, dict) and value.get('public')), 'require': 'private'}
        if isinstance(value, dict):
            for field in ('rules', 'matches'):
                if value.get(field):
                    dep[field] = value[field]
        out.append(dep)
    return out


def write_archive(files, target):
    tmp = target.with_suffix('.tmp')
    with tarfile.open(tmp, 'w:gz') as tar:
        for rel, full in files:
            info = tar.gettarinfo(str(full), arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ''
            with open(full, 'rb') as f:
                tar.addfile(info, f)
    os.replace(tmp, target)


def main(argv):
    if len(argv) != 3:
        fail('usage: component_mirror.py <components dir> <mirror dir>')
    source, mirror = Path(argv[1]).resolve(), Path(argv[2]).resolve()
    if not source.is_dir():
        fail('%s is not a folder of component sources (<namespace>__<name>-<version>/)' % source)
    found = {}
    for folder in sorted(p for p in source.iterdir() if p.is_dir()):
        m = FOLDER.match(folder.name)
        if not m:
            continue
        if not (folder / 'CMakeLists.txt').is_file():
            fail('%s has no CMakeLists.txt: it is not an ESP-IDF component' % folder)
        namespace, name, version = m.groups()
        manifest = read_manifest(folder)
        declared = manifest.get('version')
        if declared is not None and str(declared) != version:
            fail('%s/idf_component.yml says version %s but the folder name says %s' % (folder, declared, version))
        files = component_files(folder, manifest_excludes(manifest))
        found.setdefault((namespace, name), []).append((version, folder, manifest, files))
    if not found:
        fail('%s holds no <namespace>__<name>-<version>/ component folders' % source)

    (mirror / 'archives').mkdir(parents=True, exist_ok=True)
    for (namespace, name), versions in sorted(found.items()):
        meta_path = mirror / 'components' / namespace / ('%s.json' % name)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            old = {v['version']: v for v in json.loads(meta_path.read_text())['versions']}
        except (OSError, ValueError, KeyError, TypeError):
            old = {}
        entries = []
        for version, folder, manifest, files in sorted(versions, key=lambda v: v[0]):
            digest = component_hash(files)
            archive = 'archives/%s__%s-%s.tgz' % (namespace, name, version)
            if old.get(version, {}).get('component_hash') != digest or not (mirror / archive).is_file():
                write_archive(files, mirror / archive)
            entries.append({
                'version': version,
                'component_hash': digest,
                'url': archive,
                'dependencies': dependencies(manifest, str(folder)),
                'targets': manifest.get('targets'),
                'docs': {},
                'license': None,
                'examples': [],
                'source': str(folder),
            })
        body = {'name': name, 'namespace': namespace, 'versions': entries}
        text = json.dumps(body, indent=2, sort_keys=True) + '\n'
        if not meta_path.is_file() or meta_path.read_text() != text:
            meta_path.write_text(text)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
