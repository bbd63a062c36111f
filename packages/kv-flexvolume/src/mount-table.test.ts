import { describe, expect, it } from "vitest";
import { mountedFsType, mountPoints, unescapeMountField } from "./mount-table.js";

const MOUNTINFO = [
  "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
  "95 22 0:52 / /var/lib/kubelet/pods/u1/volumes/azure~kv/secrets\\040store rw,relatime shared:40 - tmpfs tmpfs rw,mode=755",
  "96 22 0:53 / /mnt/twice rw - ext4 /dev/sdb rw",
  "97 96 0:54 / /mnt/twice rw - tmpfs tmpfs rw",
  "",
].join("\n");

describe("mount table", () => {
  it("unescapes mountinfo's octal escapes", () => {
    expect(unescapeMountField("a\\040b\\011c\\134d")).toBe("a b\tc\\d");
  });

  it("lists mount points", () => {
    expect(mountPoints(MOUNTINFO)).toEqual(["/", "/var/lib/kubelet/pods/u1/volumes/azure~kv/secrets store", "/mnt/twice", "/mnt/twice"]);
  });

  it("finds the visible (last) filesystem at a directory, and nothing at a plain directory", () => {
    expect(mountedFsType(MOUNTINFO, "/var/lib/kubelet/pods/u1/volumes/azure~kv/secrets store")).toBe("tmpfs");
    expect(mountedFsType(MOUNTINFO, "/mnt/twice")).toBe("tmpfs");
    expect(mountedFsType(MOUNTINFO, "/var/lib/kubelet")).toBeUndefined();
  });
});
