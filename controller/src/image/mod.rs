//! Guest images: building the kernel, initramfs and root filesystem that
//! every VM boots from, and describing a built image.
