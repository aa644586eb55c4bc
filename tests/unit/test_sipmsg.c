/* SPDX-License-Identifier: GPL-3.0-or-later */
/* placeholder until the module lands: skipped, never passed */
int main(void)
{
        return 77;
}
