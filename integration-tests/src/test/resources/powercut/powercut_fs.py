#!/usr/bin/python3
"""A FUSE file system that keeps only what was synced, for power-cut tests.

    powercut_fs.py [--ignore-fsync] BACKING MOUNTPOINT

Everything an application sees (file contents, names) lives in memory. BACKING, a directory on a
real disk outside the mount, holds the *disk*: what a machine would find after losing power.

- The contents and size of a file reach the disk only when that file is fsync'd or fdatasync'd
  (both are treated alike: what fdatasync leaves out, timestamps, is not kept anyway).
- A name (create, mkdir, symlink, link, rename, unlink, rmdir) reaches the disk only when the
  directory holding it is fsync'd: the whole directory as it is then. A file whose data was
  synced but whose name was not is gone after a cut; a name that was synced but whose data was
  not is an empty file (or has the contents of its last sync). A rename between two directories
  counts in each one when that one is synced.

This is stricter than ext4, where fsync of one file commits the journal with every pending name
change, and where the journal is committed every 5 s anyway; it is what POSIX promises, and what
a careful program (RocksDB) relies on. Closing a file syncs nothing (ext4's replace-by-rename
heuristic is not modelled).

Cutting the power is killing this process with SIGKILL: BACKING is then exactly what was synced
(a sync under way when the process dies may be half written, as on a real disk). Mounting BACKING
again shows that state. A clean unmount (fusermount3 -u) writes everything, as a clean shutdown
does.

--ignore-fsync makes a disk that lies: fsync returns at once and keeps nothing until the clean
unmount. Only for showing that the test catches lost writes.

Every operation runs on the one FUSE thread, in order; writes go straight through the kernel (no
writeback cache), so the file system sees each write() when the application makes it.
"""
import errno
import json
import os
import stat
import sys
import time

from fusepy import FUSE, FuseOSError, Operations, fuse_get_context

ROOT = 1
CAPACITY = 16 << 30


class Node:
    __slots__ = ('ino', 'kind', 'mode', 'uid', 'gid', 'data', 'entries', 'target', 'nlink',
                 'atime', 'mtime', 'ctime', 'dirty_low', 'dirty_high', 'truncated_to')

    def __init__(self, ino, kind, mode, uid, gid):
        self.ino = ino
        self.kind = kind          # 'dir', 'file' or 'link'
        self.mode = mode & 0o7777
        self.uid = uid
        self.gid = gid
        self.data = bytearray() if kind == 'file' else None
        self.entries = {} if kind == 'dir' else None
        self.target = None
        self.nlink = 0
        now = time.time()
        self.atime = self.mtime = self.ctime = now
        self.clean()

    def clean(self):
        self.dirty_low = None
        self.dirty_high = 0
        self.truncated_to = None

    def dirty(self, low, high):
        self.dirty_low = low if self.dirty_low is None else min(self.dirty_low, low)
        self.dirty_high = max(self.dirty_high, high)


class PowerCutFs(Operations):
    use_ns = False
    # Operations on a file unlinked while open come without a path (hard_remove): they use the handle.
    flag_nullpath_ok = True

    def __init__(self, backing, ignore_fsync):
        self.backing = os.path.abspath(backing)
        self.ignore_fsync = ignore_fsync
        self.data_dir = os.path.join(self.backing, 'data')
        os.makedirs(self.data_dir, exist_ok=True)
        self.nodes = {}
        self.handles = {}
        self.next_handle = 1
        self.syncs = 0
        self.dir_syncs = 0
        self.synced_bytes = 0
        self.load()

    # The disk (BACKING): meta.json names every directory's synced entries, data/<ino> each file's
    # synced contents.

    def meta_path(self):
        return os.path.join(self.backing, 'meta.json')

    def data_path(self, ino):
        return os.path.join(self.data_dir, str(ino))

    def load(self):
        try:
            with open(self.meta_path()) as f:
                stored = {int(k): v for k, v in json.load(f).items()}
        except FileNotFoundError:
            stored = {ROOT: {'kind': 'dir', 'mode': 0o755, 'uid': os.getuid(), 'gid': os.getgid(), 'entries': {}}}
        reachable = {}
        pending = [ROOT]
        while pending:
            ino = pending.pop()
            if ino in reachable:
                continue
            record = stored[ino]
            reachable[ino] = record
            if record['kind'] == 'dir':
                pending.extend(record['entries'].values())
        for ino, record in reachable.items():
            node = Node(ino, record['kind'], record['mode'], record['uid'], record['gid'])
            if node.kind == 'file':
                try:
                    with open(self.data_path(ino), 'rb') as f:
                        node.data = bytearray(f.read())
                except FileNotFoundError:
                    pass
            elif node.kind == 'link':
                node.target = record['target']
            self.nodes[ino] = node
        for ino, record in reachable.items():
            if record['kind'] == 'dir':
                node = self.nodes[ino]
                node.entries = dict(record['entries'])
                node.nlink += 2
                for child in node.entries.values():
                    self.nodes[child].nlink += 1 if self.nodes[child].kind != 'dir' else 0
                    node.nlink += 1 if self.nodes[child].kind == 'dir' else 0
        # What no synced name leads to is gone, as an unreferenced inode is after fsck.
        for name in os.listdir(self.data_dir):
            if not name.isdigit() or int(name) not in reachable or reachable[int(name)]['kind'] != 'file':
                os.unlink(os.path.join(self.data_dir, name))
        self.meta = reachable
        self.next_ino = max(reachable) + 1
        self.write_meta()

    def write_meta(self):
        temporary = self.meta_path() + '.new'
        with open(temporary, 'w') as f:
            json.dump({str(k): v for k, v in self.meta.items()}, f)
        os.replace(temporary, self.meta_path())

    def record(self, node):
        record = {'kind': node.kind, 'mode': node.mode, 'uid': node.uid, 'gid': node.gid}
        if node.kind == 'dir':
            previous = self.meta.get(node.ino)
            record['entries'] = previous['entries'] if previous else {}
        elif node.kind == 'link':
            record['target'] = node.target
        return record

    def sync_file(self, node):
        if node.kind != 'file':
            return
        if node.dirty_low is None and node.truncated_to is None:
            return
        fd = os.open(self.data_path(node.ino), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            if node.truncated_to is not None:
                os.ftruncate(fd, node.truncated_to)
            if node.dirty_low is not None:
                high = min(node.dirty_high, len(node.data))
                if high > node.dirty_low:
                    os.pwrite(fd, bytes(node.data[node.dirty_low:high]), node.dirty_low)
                    self.synced_bytes += high - node.dirty_low
            os.ftruncate(fd, len(node.data))
        finally:
            os.close(fd)
        node.clean()

    def sync_directory(self, node):
        for child in node.entries.values():
            if child not in self.meta:
                self.meta[child] = self.record(self.nodes[child])
        record = self.record(node)
        record['entries'] = dict(node.entries)
        self.meta[node.ino] = record
        self.write_meta()

    def sync_everything(self):
        for node in list(self.nodes.values()):
            self.sync_file(node)
        pending = [ROOT]
        while pending:
            node = self.nodes[pending.pop()]
            self.sync_directory(node)
            pending.extend(child for child in node.entries.values() if self.nodes[child].kind == 'dir')

    # The file system as applications see it.

    def lookup(self, path):
        node = self.nodes[ROOT]
        for part in path.split('/'):
            if not part:
                continue
            if node.kind != 'dir':
                raise FuseOSError(errno.ENOTDIR)
            child = node.entries.get(part)
            if child is None:
                raise FuseOSError(errno.ENOENT)
            node = self.nodes[child]
        return node

    def parent(self, path):
        head, name = os.path.split(path.rstrip('/'))
        directory = self.lookup(head)
        if directory.kind != 'dir':
            raise FuseOSError(errno.ENOTDIR)
        if len(name.encode()) > 255:
            raise FuseOSError(errno.ENAMETOOLONG)
        return directory, name

    def node(self, path, fh):
        if fh:
            try:
                return self.nodes[self.handles[fh]]
            except KeyError:
                raise FuseOSError(errno.EBADF)
        if path is None:
            raise FuseOSError(errno.ENOENT)
        return self.lookup(path)

    def new_node(self, kind, mode):
        uid, gid, _ = self.context()
        node = Node(self.next_ino, kind, mode, uid, gid)
        self.next_ino += 1
        self.nodes[node.ino] = node
        return node

    @staticmethod
    def context():
        return fuse_get_context()

    def link_into(self, directory, name, node):
        directory.entries[name] = node.ino
        node.nlink += 1 if node.kind != 'dir' else 2
        if node.kind == 'dir':
            directory.nlink += 1
        directory.mtime = directory.ctime = time.time()

    def drop(self, directory, name):
        node = self.nodes[directory.entries.pop(name)]
        if node.kind == 'dir':
            node.nlink = 0
            directory.nlink -= 1
        else:
            node.nlink -= 1
        node.ctime = directory.mtime = directory.ctime = time.time()
        self.forget_if_unused(node)

    def forget_if_unused(self, node):
        if node.nlink <= 0 and node.ino not in self.handles.values() and node.ino != ROOT:
            del self.nodes[node.ino]

    def open_handle(self, node):
        fh = self.next_handle
        self.next_handle += 1
        self.handles[fh] = node.ino
        return fh

    def getattr(self, path, fh=None):
        node = self.node(path, fh)
        kind = {'dir': stat.S_IFDIR, 'file': stat.S_IFREG, 'link': stat.S_IFLNK}[node.kind]
        size = len(node.data) if node.kind == 'file' else len(node.target.encode()) if node.kind == 'link' else 4096
        return {'st_mode': kind | node.mode, 'st_nlink': node.nlink, 'st_size': size, 'st_uid': node.uid,
                'st_gid': node.gid, 'st_atime': node.atime, 'st_mtime': node.mtime, 'st_ctime': node.ctime,
                'st_blocks': (size + 511) // 512, 'st_blksize': 4096}

    def access(self, path, amode):
        self.lookup(path)

    def readdir(self, path, fh):
        node = self.lookup(path)
        if node.kind != 'dir':
            raise FuseOSError(errno.ENOTDIR)
        return ['.', '..'] + list(node.entries)

    def readlink(self, path):
        node = self.lookup(path)
        if node.kind != 'link':
            raise FuseOSError(errno.EINVAL)
        return node.target

    def mkdir(self, path, mode):
        directory, name = self.parent(path)
        if name in directory.entries:
            raise FuseOSError(errno.EEXIST)
        self.link_into(directory, name, self.new_node('dir', mode))

    def rmdir(self, path):
        directory, name = self.parent(path)
        node = self.lookup(path)
        if node.kind != 'dir':
            raise FuseOSError(errno.ENOTDIR)
        if node.entries:
            raise FuseOSError(errno.ENOTEMPTY)
        self.drop(directory, name)

    def create(self, path, mode, fi=None):
        directory, name = self.parent(path)
        child = directory.entries.get(name)
        if child is not None:
            return self.open_handle(self.nodes[child])
        node = self.new_node('file', mode)
        self.link_into(directory, name, node)
        return self.open_handle(node)

    def mknod(self, path, mode, dev):
        if not stat.S_ISREG(mode):
            raise FuseOSError(errno.EPERM)
        directory, name = self.parent(path)
        if name in directory.entries:
            raise FuseOSError(errno.EEXIST)
        self.link_into(directory, name, self.new_node('file', mode))

    def symlink(self, target, source):
        directory, name = self.parent(target)
        if name in directory.entries:
            raise FuseOSError(errno.EEXIST)
        node = self.new_node('link', 0o777)
        node.target = source
        self.link_into(directory, name, node)

    def link(self, target, source):
        node = self.lookup(source)
        if node.kind == 'dir':
            raise FuseOSError(errno.EPERM)
        directory, name = self.parent(target)
        if name in directory.entries:
            raise FuseOSError(errno.EEXIST)
        self.link_into(directory, name, node)

    def unlink(self, path):
        directory, name = self.parent(path)
        if name not in directory.entries:
            raise FuseOSError(errno.ENOENT)
        if self.nodes[directory.entries[name]].kind == 'dir':
            raise FuseOSError(errno.EISDIR)
        self.drop(directory, name)

    def rename(self, old, new):
        source, old_name = self.parent(old)
        target, new_name = self.parent(new)
        if old_name not in source.entries:
            raise FuseOSError(errno.ENOENT)
        node = self.nodes[source.entries[old_name]]
        if node.kind == 'dir' and (new + '/').startswith(old.rstrip('/') + '/'):
            raise FuseOSError(errno.EINVAL)
        replaced = target.entries.get(new_name)
        if replaced == node.ino:
            return
        if replaced is not None:
            existing = self.nodes[replaced]
            if existing.kind == 'dir':
                if node.kind != 'dir':
                    raise FuseOSError(errno.EISDIR)
                if existing.entries:
                    raise FuseOSError(errno.ENOTEMPTY)
            elif node.kind == 'dir':
                raise FuseOSError(errno.ENOTDIR)
            self.drop(target, new_name)
        del source.entries[old_name]
        target.entries[new_name] = node.ino
        if node.kind == 'dir' and source is not target:
            source.nlink -= 1
            target.nlink += 1
        now = time.time()
        source.mtime = source.ctime = target.mtime = target.ctime = node.ctime = now

    def chmod(self, path, mode):
        node = self.lookup(path)
        node.mode = mode & 0o7777
        node.ctime = time.time()

    def chown(self, path, uid, gid):
        node = self.lookup(path)
        if uid != -1 and uid != 0xFFFFFFFF:
            node.uid = uid
        if gid != -1 and gid != 0xFFFFFFFF:
            node.gid = gid
        node.ctime = time.time()

    def utimens(self, path, times=None):
        node = self.lookup(path)
        node.atime, node.mtime = times if times else (time.time(), time.time())

    def open(self, path, flags):
        node = self.lookup(path)
        if node.kind == 'dir' and flags & (os.O_WRONLY | os.O_RDWR):
            raise FuseOSError(errno.EISDIR)
        return self.open_handle(node)

    def opendir(self, path):
        return self.open_handle(self.lookup(path))

    def release(self, path, fh):
        ino = self.handles.pop(fh, None)
        if ino is not None and ino in self.nodes:
            self.forget_if_unused(self.nodes[ino])

    def releasedir(self, path, fh):
        self.release(path, fh)

    def flush(self, path, fh):
        pass

    def read(self, path, size, offset, fh):
        node = self.node(path, fh)
        if node.kind != 'file':
            raise FuseOSError(errno.EISDIR)
        return bytes(node.data[offset:offset + size])

    def write(self, path, data, offset, fh):
        node = self.node(path, fh)
        end = offset + len(data)
        if end > len(node.data):
            node.data.extend(bytes(end - len(node.data)))
        node.data[offset:end] = data
        node.dirty(offset, end)
        node.mtime = node.ctime = time.time()
        return len(data)

    def truncate(self, path, length, fh=None):
        node = self.node(path, fh)
        if node.kind != 'file':
            raise FuseOSError(errno.EISDIR)
        if length < len(node.data):
            del node.data[length:]
            node.truncated_to = length if node.truncated_to is None else min(node.truncated_to, length)
        else:
            start = len(node.data)
            node.data.extend(bytes(length - start))
            node.dirty(start, length)
        node.mtime = node.ctime = time.time()

    def fsync(self, path, datasync, fh):
        self.syncs += 1
        if not self.ignore_fsync:
            self.sync_file(self.node(path, fh))

    def fsyncdir(self, path, datasync, fh):
        self.dir_syncs += 1
        node = self.node(path, fh)
        if not self.ignore_fsync and node.kind == 'dir':
            self.sync_directory(node)

    def statfs(self, path):
        used = sum(len(node.data) for node in self.nodes.values() if node.kind == 'file') // 4096
        blocks = CAPACITY // 4096
        return {'f_bsize': 4096, 'f_frsize': 4096, 'f_blocks': blocks, 'f_bfree': blocks - used,
                'f_bavail': blocks - used, 'f_files': 1 << 20, 'f_ffree': (1 << 20) - len(self.nodes),
                'f_favail': (1 << 20) - len(self.nodes), 'f_namemax': 255}

    # No extended attributes are kept: every one is absent.
    def getxattr(self, path, name, position=0):
        raise FuseOSError(errno.ENODATA)

    def listxattr(self, path):
        return []


def main(arguments):
    ignore_fsync = '--ignore-fsync' in arguments
    positional = [a for a in arguments if not a.startswith('--')]
    if len(positional) != 2:
        sys.stderr.write(__doc__)
        return 2
    backing, mountpoint = positional
    fs = PowerCutFs(backing, ignore_fsync)
    print('powercut_fs: serving %s at %s%s' % (fs.backing, mountpoint, ' (ignoring fsync)' if ignore_fsync else ''), flush=True)
    FUSE(fs, mountpoint, foreground=True, nothreads=True, hard_remove=True, big_writes=True,
         max_write=131072, fsname='powercut_fs', subtype='powercut')
    # Unmounted cleanly: the kernel has nothing more to write, a clean shutdown keeps everything.
    fs.sync_everything()
    print('powercut_fs: unmounted; %d file syncs, %d directory syncs, %d bytes synced'
          % (fs.syncs, fs.dir_syncs, fs.synced_bytes), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
