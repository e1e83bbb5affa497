"""Model artifacts: where a version's bytes come from, and proof that they are the reviewed ones.

A version's `source` is a local file or folder, or an fsspec URL (s3://, gs://, az://,
https://, ...). Before the tree is built, `resolve_versions` lists every source, computes
(or recalls) the sha256 of every file, downloads what must be local into the
content-addressed cache, and checks `sha256:` pins and `models.lock`.

    settings.py   run-wide choices (--locked, fetch or stay remote, cache dir, jobs)
    source.py     listing local and remote sources; Origin, the remote identity of a file
    digest.py     sha256/md5 streaming, the folder digest definition
    cache.py      the content-addressed cache and its indexes; prune
    fetch.py      streamed, retried, verified downloads; the thread pool
    file_digest.py  one file's digest and bytes with as little work as possible
    resolve.py    the manifest-wide pass: pins, lock, LFS pointers, checksum agent
    lockfile.py   models.lock
    lfs.py        a Git LFS pointer given as a source (the format: storage/lfs_pointer.py)
    lfs_digest.py  a big checked-out file's sha256 from its LFS pointer, when git vouches for it
    checksum.py   Triton's checksum repository agent parameters
    plan_sources.py  what plans print about sources
    remote_copy.py  for sync: server-side copies and local copies of remote files
"""
# Nothing is imported here: `validate` and `plan` replaying a kept answer (compiler/fastpath/
# verdict.py) read settings.py and lockfile.py only, and resolve.py pulls in the whole stage.
