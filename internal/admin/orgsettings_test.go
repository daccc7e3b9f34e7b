package admin

import (
	"slices"
	"testing"

	"github.com/opensmd/portal/internal/provider"
)

// Every type the portal publishes by default can be chosen in the
// settings, so ticking every box never publishes less than ticking none.
func TestCategories_CoverWhatThePortalPublishes(t *testing.T) {
	for _, c := range provider.SupportedCategories {
		if !slices.ContainsFunc(Categories, func(k Category) bool { return k.URI == c }) {
			t.Errorf("%s is published but cannot be chosen in the settings", c)
		}
	}
}
