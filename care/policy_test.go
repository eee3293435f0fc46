package care_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
)

func loadPolicy(t *testing.T, program string) care.Policy {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "policies", program+".json"))
	require.NoError(t, err)
	var p care.Policy
	require.NoError(t, json.Unmarshal(b, &p))
	return p
}

func TestShippedPoliciesAreValid(t *testing.T) {
	files, err := filepath.Glob("../policies/*.json")
	require.NoError(t, err)
	require.Len(t, files, 4)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var p care.Policy
		require.NoError(t, json.Unmarshal(b, &p), f)
		require.NoError(t, p.Validate(), f)
	}
}

func TestCallIntervalByRiskAndModel(t *testing.T) {
	p := loadPolicy(t, "complex-case")
	day := 24 * time.Hour
	require.Equal(t, 7*day, p.CallInterval(care.RiskHigh, care.ModelClinical))
	require.Equal(t, 14*day, p.CallInterval(care.RiskModerate, care.ModelClinical))
	require.Equal(t, 30*day, p.CallInterval(care.RiskLow, care.ModelClinical))
	require.Equal(t, 30*day, p.CallInterval(care.RiskUnknown, care.ModelClinical), "unstratified: low cadence")
	require.Equal(t, 84*time.Hour, p.CallInterval(care.RiskHigh, care.ModelIntensive), "intensive: twice as often")
	require.Equal(t, 14*day, p.CallInterval(care.RiskHigh, care.ModelBrokerage), "brokerage: half as often")
}

func TestDurationJSON(t *testing.T) {
	var d struct{ A, B, C, N care.Duration }
	require.NoError(t, json.Unmarshal([]byte(`{"A":"7d","B":"72h","C":"90m","N":60000000000}`), &d))
	require.Equal(t, 7*24*time.Hour, d.A.D())
	require.Equal(t, 72*time.Hour, d.B.D())
	require.Equal(t, 90*time.Minute, d.C.D())
	require.Equal(t, time.Minute, d.N.D(), "nanoseconds, as older inputs carry them")
	out, err := json.Marshal(d)
	require.NoError(t, err)
	require.JSONEq(t, `{"A":"7d","B":"3d","C":"90m","N":"1m"}`, string(out))
	require.ErrorContains(t, json.Unmarshal([]byte(`{"A":"a week"}`), &d), `bad duration "a week"`)
}

func TestPolicyValidateNamesTheField(t *testing.T) {
	p := loadPolicy(t, "transitional-care")
	bad := p
	bad.FollowUp.CallWindow = 0
	require.ErrorContains(t, bad.Validate(), "follow_up.call_window: must be a positive duration")
	bad = p
	bad.Timezone = "Mars/Olympus"
	require.ErrorContains(t, bad.Validate(), "timezone")
	bad.Timezone = "Local" // the machine's zone: two workers could disagree
	require.ErrorContains(t, bad.Validate(), "timezone: must be an IANA time zone")
	bad = p
	bad.Calendar.Holidays = []string{"25/12/2026"}
	require.ErrorContains(t, bad.Validate(), "calendar.holidays[0]")
	bad = p
	bad.Supervisor = "Jane Doe"
	require.ErrorContains(t, bad.Validate(), "supervisor")
}

func TestAddBusinessDays(t *testing.T) {
	cal := loadPolicy(t, "transitional-care").Calendar
	date := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		require.NoError(t, err)
		return d
	}
	cases := []struct{ from, want, why string }{
		{"2026-12-02", "2026-12-04", "Wednesday + 2 = Friday"},
		{"2026-12-04", "2026-12-08", "a Friday discharge is due Tuesday"},
		{"2027-01-15", "2027-01-20", "Friday before Martin Luther King Day (Mon 18th): Tue 19, Wed 20"},
		{"2026-12-24", "2026-12-29", "Christmas Eve: Fri 25 is a holiday, Mon 28, Tue 29"},
		{"2026-12-05", "2026-12-08", "a Saturday discharge counts from Monday"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, cal.AddBusinessDays(date(c.from), 2).Format(time.DateOnly), c.why)
	}
}
