'use strict';
// Starts s3rver with the command line of its own bin/s3rver.js, with one correction so that it keeps S3's guarantee that
// a PUT is atomic and durable once answered. s3rver 3.7.1 writes into the object file in place and answers as soon as its
// hashing transform has seen the last byte, before the file write stream has flushed; and an upload whose connection is
// cut leaves its write stream open on the same file. On a loaded machine a GET right after a retried PUT could then read
// bytes that do not match the ETag it was given. Here each PUT streams into a temporary file (not listed: it lacks the
// object suffix), is renamed into place only when every byte is written, and is discarded if the request fails.
const path = require('path');
const crypto = require('crypto');
const { Transform, pipeline } = require('stream');
const fs = require('fs-extra');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

FilesystemStore.prototype.putObject = async function putObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fs.mkdirp(path.dirname(objectPath));
  const temporary = `${objectPath}.${crypto.randomBytes(8).toString('hex')}.uploading`;
  const md5 = crypto.createHash('md5');
  let size = 0;
  try {
    if (Buffer.isBuffer(object.content)) {
      md5.update(object.content);
      size = object.content.length;
      await fs.writeFile(temporary, object.content);
    } else {
      const hashing = new Transform({
        transform(chunk, encoding, callback) {
          md5.update(chunk, encoding);
          size += chunk.length;
          callback(null, chunk);
        },
      });
      await new Promise((resolve, reject) =>
        pipeline(object.content, hashing, fs.createWriteStream(temporary), (err) => (err ? reject(err) : resolve())));
    }
    await fs.rename(temporary, objectPath);
  } catch (err) {
    await fs.remove(temporary).catch(() => {});
    throw err;
  }

  const digest = md5.digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, digest);
  return { size, md5: digest };
};

require('s3rver/bin/s3rver.js');
