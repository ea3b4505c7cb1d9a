# Arguments: KUBECTL MANIFEST: MANIFEST applied server-side (field manager kubefab) by the
# kubectl at KUBECTL as whoever the kubeconfig on stdin names. kubectl reads that
# kubeconfig through /dev/fd/3, a pipe: it never lands on the host's disk (kubefab's
# super-admin credential, which stays on the operator's machine: kubefab.ops.admin).
exec 3<&0
printf '%s\n' "$2" | "$1" --kubeconfig=/dev/fd/3 apply --server-side --field-manager=kubefab --force-conflicts -f -
