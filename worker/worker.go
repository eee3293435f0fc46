// Package worker builds the Temporal workers that run caseflow's case
// workflow and activities.
package worker

import (
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/workflows"
)

// StopTimeout is how long a stopping worker lets in-flight activities finish
// before it abandons them; Temporal then retries them on another worker.
const StopTimeout = 20 * time.Second

// Workers are the two SDK workers of a caseflow-worker process: Main on the
// case task queue (workflows and every activity) and Payer on
// workflows.PayerTaskQueue of it (only the payer's activities, rate limited
// by the Temporal server to Config.PayerRate over all workers).
type Workers struct {
	Main, Payer sdkworker.Worker
}

// New returns the workers for taskQueue, tuned by cfg. It sets the
// process-wide sticky workflow cache size, so it must be called before any
// worker of the process starts.
func New(c client.Client, taskQueue string, acts *activities.Activities, cfg Config) *Workers {
	sdkworker.SetStickyWorkflowCacheSize(cfg.StickyCache)
	main := sdkworker.New(c, taskQueue, sdkworker.Options{
		WorkerStopTimeout:                       StopTimeout,
		MaxConcurrentWorkflowTaskExecutionSize:  cfg.WorkflowTasks,
		MaxConcurrentActivityExecutionSize:      cfg.ActivityTasks,
		MaxConcurrentLocalActivityExecutionSize: cfg.LocalActivities,
		MaxConcurrentWorkflowTaskPollers:        cfg.WorkflowPollers,
		MaxConcurrentActivityTaskPollers:        cfg.ActivityPollers,
		StickyScheduleToStartTimeout:            cfg.StickyTimeout,
	})
	RegisterWorkflows(main)
	// Every activity, the payer's included: histories recorded before the
	// payer-task-queue gate schedule them on this queue.
	main.RegisterActivity(acts)
	payer := sdkworker.New(c, workflows.PayerTaskQueue(taskQueue), sdkworker.Options{
		WorkerStopTimeout:                  StopTimeout,
		MaxConcurrentActivityExecutionSize: cfg.ActivityTasks,
		MaxConcurrentActivityTaskPollers:   cfg.ActivityPollers,
		// Server-side: the limit of the whole queue, whatever the number of
		// workers polling it (the SDK then also turns off eager dispatch,
		// which the server would not limit).
		TaskQueueActivitiesPerSecond: cfg.PayerRate,
	})
	RegisterPayerActivities(payer, acts)
	return &Workers{Main: main, Payer: payer}
}

// RegisterPayerActivities registers the activities that call the insurer,
// and only those, under the names the workflows schedule them by.
func RegisterPayerActivities(r interface {
	RegisterActivityWithOptions(any, activity.RegisterOptions)
}, acts *activities.Activities) {
	r.RegisterActivityWithOptions(acts.SubmitAuthorization, activity.RegisterOptions{Name: "SubmitAuthorization"})
	r.RegisterActivityWithOptions(acts.InquireAuthorization, activity.RegisterOptions{Name: "InquireAuthorization"})
}

// Run starts both workers and blocks until interrupt delivers (or a worker
// fails), then stops both at once, each giving its in-flight activities
// StopTimeout to finish.
func (w *Workers) Run(interrupt <-chan any) error {
	if err := w.Payer.Start(); err != nil {
		return fmt.Errorf("payer worker: %w", err)
	}
	var once sync.Once
	var wg sync.WaitGroup
	stopPayer := func() {
		once.Do(func() {
			wg.Add(1)
			go func() { defer wg.Done(); w.Payer.Stop() }()
		})
	}
	mainInterrupt := make(chan any, 1)
	done := make(chan struct{})
	go func() {
		select {
		case v := <-interrupt:
			stopPayer()
			mainInterrupt <- v
		case <-done:
		}
	}()
	err := w.Main.Run(mainInterrupt)
	close(done)
	stopPayer()
	wg.Wait()
	return err
}

// RegisterWorkflows registers caseflow's workflows on a worker or a replayer,
// under the names running histories know them by.
func RegisterWorkflows(r interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
}) {
	r.RegisterWorkflowWithOptions(workflows.CaseWorkflow, workflow.RegisterOptions{Name: "CaseWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.ServiceWorkflow, workflow.RegisterOptions{Name: "ServiceWorkflow"})
}
